"""Issues and pull requests: which windows each job asks for, and the watermark that makes later runs cheap."""

from __future__ import annotations

from datetime import datetime

from .context import JobContext
from .search import search_and_store
from .state import read_watermark, write_watermark

WATERMARK = "every_30_min"


def sync_recent(ctx: JobContext) -> None:
    """New items (5 days), recently closed (1 week) and closed PRs (52 weeks), at the price of one query.

    The first run asks the original design's windows. Every later run asks only for what was updated since
    the last successful one (less an overlap for search indexing lag): an item can only enter those windows
    by being created or closed, both of which update it, so nothing is missed and nothing is asked twice.
    The watermark moves only after everything is stored, so a failed run is simply repeated.
    """
    settings, started = ctx.settings, ctx.started
    watermark = read_watermark(ctx.session, WATERMARK)
    if watermark is None:
        searches = [
            ("", "created", started - settings.new_items_window),
            ("is:issue", "closed", started - settings.recently_closed_window),
            ("is:pr", "closed", started - max(settings.unmerged_window, settings.recently_closed_window)),
        ]
    else:
        since = watermark.replace(tzinfo=started.tzinfo) - settings.sync_overlap
        searches = [("", "updated", since)]
    for qualifiers, field, since in searches:
        search_and_store(ctx, qualifiers, field, since)
    write_watermark(ctx.session, WATERMARK, started)


def sync_updated(ctx: JobContext, since: datetime) -> list[dict]:
    """Every item updated since `since`, stored; their rows, for the steps that follow (timelines)."""
    return search_and_store(ctx, "", "updated", since)
