"""Timeline events of stored issues and PRs, fetched conditionally page by page on a small pool."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exists, select

from .context import Deadline, JobContext
from .entities import EVENT_POLLS, EVENTS, TIMELINE_READS
from .github import PAGE_SIZE, ForeignURL, GitHubAPI, GitHubAPIError, TimelinePage
from .load import put, rows_of, unit
from .models import EventPoll, Issue, PullRequest, TimelineRead, read_item_ids

log = logging.getLogger(__name__)


@dataclass
class TimelineFetch:
    item: dict
    pages: list[TimelinePage] = field(default_factory=list)
    complete: bool = False
    gone: int | None = None
    refused: str | None = None


def fetch_timeline(api: GitHubAPI, item: dict, known: dict[int, EventPoll], deadline: Deadline) -> TimelineFetch:
    """Every page of one timeline, each asked with its own ETag.

    A 304 on one page says nothing of the next: new events land on the last page, so paging goes on after an
    unchanged page that was full last time, and stops at the first page that is not full.
    """
    fetch = TimelineFetch(item)
    page_no = 1
    try:
        while not deadline.passed:
            poll = known.get(page_no)
            page = api.timeline_page(item["timeline_url"], page_no, poll.etag if poll else None)
            fetch.pages.append(page)
            if page.not_modified:
                more = poll.page_size is None or poll.page_size >= PAGE_SIZE
            else:
                more = page.has_next
            if not more:
                fetch.complete = True
                break
            page_no += 1
    except ForeignURL as error:
        fetch.refused = error.message
    except GitHubAPIError as error:
        if error.status not in (404, 410):
            raise
        fetch.gone = error.status
    return fetch


def store_timeline(ctx: JobContext, fetch: TimelineFetch, already_read: bool) -> None:
    """The changed pages' tracked events and their ETags, in one transaction (an ETag never outlives its events),
    and, once the timeline was read whole (or found gone or refused), that it was."""
    item, tracked = fetch.item, ctx.settings.tracked_events
    events, polls = [], []
    for page in fetch.pages:
        if page.not_modified:
            ctx.report.pages_not_modified += 1
            continue
        ctx.report.pages_fetched += 1
        events += rows_of(ctx, EVENTS, [event for event in page.events if event.get("event") in tracked], item)
        polls.append(
            EVENT_POLLS.to_row({"page_no": page.page_no, "etag": page.etag, "page_size": len(page.events)}, item)
        )
    outcome = "gone" if fetch.gone else "refused" if fetch.refused else "read" if fetch.complete else None
    reads = [TIMELINE_READS.to_row({"outcome": outcome, "read_at": ctx.started}, item)] if outcome else []
    if not polls and (already_read or not reads):
        return
    with unit(ctx):
        put(ctx, EVENTS, events)
        put(ctx, EVENT_POLLS, polls)
        put(ctx, TIMELINE_READS, reads)


def _known_polls(ctx: JobContext, ids: list[int]) -> dict[int, dict[int, EventPoll]]:
    known: dict[int, dict[int, EventPoll]] = {}
    for start in range(0, len(ids), 1000):
        for poll in ctx.session.scalars(select(EventPoll).where(EventPoll.id.in_(ids[start : start + 1000]))):
            known.setdefault(poll.id, {})[poll.page_no] = poll
    return known


def sync_timelines(ctx: JobContext, items: list[dict]) -> set[int]:
    """Fetch timelines on a small pool, store them as they arrive, stop cleanly at the deadline; returns the ids
    of the items whose timeline was settled (read whole, or found gone or refused).

    Items changed since their last poll go first, so a run cut short still makes progress where it matters.
    """
    known = _known_polls(ctx, [item["id"] for item in items])
    already_read = read_item_ids(ctx.session, [item["id"] for item in items])

    def stale(item: dict) -> bool:
        first_page = known.get(item["id"], {}).get(1)
        return first_page is None or first_page.issue_updated_at != item["updated_at"]

    ordered = sorted(items, key=lambda item: item["updated_at"] or datetime.min, reverse=True)
    ordered.sort(key=lambda item: not stale(item))
    settled: set[int] = set()
    with ThreadPoolExecutor(max_workers=ctx.settings.timeline_workers) as pool:
        futures = [
            pool.submit(fetch_timeline, ctx.api, item, known.get(item["id"], {}), ctx.deadline) for item in ordered
        ]
        try:
            for future in as_completed(futures):
                fetch = future.result()
                if fetch.gone:
                    ctx.report.warn(f"timeline of {fetch.item['url']} answered {fetch.gone}")
                elif fetch.refused:
                    ctx.report.warn(f"timeline of {fetch.item['url']}: {fetch.refused}")
                elif not fetch.complete:
                    ctx.report.stopped_early = True
                store_timeline(ctx, fetch, fetch.item["id"] in already_read)
                if fetch.complete or fetch.gone or fetch.refused:
                    settled.add(fetch.item["id"])
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return settled


# Never-read timelines may use the core budget down to this share of the hourly limit; the rest is kept for the
# jobs' own work (and for whatever else shares the token).
COVERAGE_RESERVE_SHARE = 0.2
COVERAGE_BATCH = 100


def spare_timelines(ctx: JobContext) -> int | None:
    """How many timelines the core budget spares beyond its reserve (None before any answer said)."""
    return ctx.api.spare("core", COVERAGE_RESERVE_SHARE)


def unread_items(ctx: JobContext, limit: int, created: tuple[datetime, datetime] | None = None) -> list[dict]:
    """Stored items of the tracked repos (created within `created`, if given) whose timeline was never read,
    newest first."""
    found = []
    for model in (Issue, PullRequest):
        never_read = ~exists().where(TimelineRead.item_id == model.id)
        statement = (
            select(model.id, model.url, model.timeline_url, model.updated_at, model.created_at, model.org, model.repo)
            .where(never_read, model.org == ctx.settings.org, model.repo.in_(ctx.repos))
            .order_by(model.created_at.desc())
            .limit(limit)
        )
        if created is not None:
            statement = statement.where(model.created_at.between(*created))
        found += [dict(row._mapping) for row in ctx.session.execute(statement)]
    found.sort(key=lambda item: item["created_at"] or datetime.min, reverse=True)
    return found[:limit]


def read_unread(ctx: JobContext, created: tuple[datetime, datetime] | None = None, spare_only: bool = True) -> None:
    """Read the timelines of stored items never read yet, newest first, until none is left or the time is up.

    `nrt_events` spends only the core budget above COVERAGE_RESERVE_SHARE of the limit (`spare_only`), so a
    database filled without `--events` reaches full coverage by itself; `backfill.py --events` reads those of its
    period whatever the budget (the client waits for the rate limit's reset)."""
    while not ctx.deadline.passed:
        spare = spare_timelines(ctx) if spare_only else None
        batch = unread_items(ctx, COVERAGE_BATCH if spare is None else min(COVERAGE_BATCH, spare), created)
        if not batch:
            return
        ctx.report.coverage_reads += len(batch)
        sync_timelines(ctx, batch)
        if not read_item_ids(ctx.session, [item["id"] for item in batch]):
            return
