"""Issues and pull requests: which windows each job asks for, and the watermark that makes later runs cheap."""

from __future__ import annotations

from datetime import datetime

from .context import JobContext
from .search import search_and_store
from .state import clear_watermarks, read_watermark, write_watermark

WATERMARK = "every_30_min"
# Progress of an unfinished cycle: when it began, and how far each (search, query) got.
CYCLE_START = "every_30_min:cycle"
PROGRESS = "every_30_min:window"


def sync_recent(ctx: JobContext) -> None:
    """New items (5 days), recently closed (1 week) and closed PRs (52 weeks), at the price of one query.

    The first run asks the original design's windows. Every later run asks only for what was updated since
    the last successful one (less an overlap for search indexing lag): an item can only enter those windows
    by being created or closed, both of which update it, so nothing is missed and nothing is asked twice.

    A cycle that does not fit in one run (a first run larger than a Lambda's time, a long outage) keeps its
    progress per query and window, and the next run continues it. The watermark moves to the cycle's start only
    once every window is stored whole, so a failed or cut-short run is simply continued.
    """
    settings, started, session = ctx.settings, ctx.started, ctx.session
    cycle_start = read_watermark(session, CYCLE_START)
    if cycle_start is None:
        cycle_start = started
        write_watermark(session, CYCLE_START, started)
    watermark = read_watermark(session, WATERMARK)
    if watermark is None:
        searches = [
            ("", "created", started - settings.new_items_window),
            ("is:issue", "closed", started - settings.recently_closed_window),
            ("is:pr", "closed", started - max(settings.unmerged_window, settings.recently_closed_window)),
        ]
    else:
        searches = [("", "updated", watermark.replace(tzinfo=started.tzinfo) - settings.sync_overlap)]
    complete = True
    for qualifiers, field, since in searches:
        complete = search_and_store(ctx, qualifiers, field, since, progress=PROGRESS).complete and complete
        if ctx.report.stopped_early:
            return
    if complete:
        write_watermark(session, WATERMARK, cycle_start)
        clear_watermarks(session, CYCLE_START)


def sync_updated(ctx: JobContext, since: datetime) -> list[dict]:
    """Every item updated since `since`, stored; their rows, for the steps that follow (timelines)."""
    return search_and_store(ctx, "", "updated", since).rows
