"""Issues and pull requests: which windows each job asks for, and the watermark that makes later runs cheap."""

from __future__ import annotations

from datetime import datetime

from .context import JobContext
from .search import Searched, search_and_store
from .state import CHANGES, ITEMS, ITEMS_CYCLE, ITEMS_WINDOWS


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
    cycle_start = ITEMS_CYCLE.value(session)
    if cycle_start is None:
        cycle_start = started
        ITEMS_CYCLE.advance(session, started)
    watermark = ITEMS.value(session)
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
        complete = search_and_store(ctx, qualifiers, field, since, progress=ITEMS_WINDOWS).complete and complete
        if ctx.report.stopped_early:
            return
    if complete:
        ITEMS.advance(session, cycle_start)
        ITEMS_CYCLE.clear(session)


def sync_changed(ctx: JobContext) -> Searched:
    """Every item updated since the last run that read all changes (less the overlap), and never less than the
    configured window (`NRT_EVENTS_DAYS`): after a three-day outage the next run covers the three days."""
    since = ctx.started - ctx.settings.nrt_window
    last = changes_read_until(ctx)
    if last is not None:
        since = min(since, last)
    return search_and_store(ctx, "", "updated", since)


def changes_read_until(ctx: JobContext) -> datetime | None:
    """When the last run that read all changes began, less the overlap; None before the first such run."""
    last = CHANGES.value(ctx.session)
    return None if last is None else last.replace(tzinfo=ctx.started.tzinfo) - ctx.settings.sync_overlap


def remember_changes_read(ctx: JobContext, changed: Searched, events_read: bool = True) -> None:
    """The next run may start from this one, once its changes and their events were all read."""
    if changed.complete and events_read and not ctx.report.stopped_early:
        CHANGES.advance(ctx.session, ctx.started)
