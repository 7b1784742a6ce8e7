"""Timeline events read per repo, not per item: the repo's issue events and comments from its two listings (100 a
page, whatever the number of items), and pull requests' reviews in bulk. Each is mapped through the same `EVENTS`
entity as a timeline's, so the `events` table cannot tell where a row came from.

What only a timeline has (`cross-referenced`, `committed`, review and commit comment threads) is read per item by
`timelines.py` when it is tracked. A reaction alone changes no comment's `updated_at`: the comments listing sees it
with the comment's next edit, the per-item timeline (`EVENTS_SOURCE=timelines`) at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from sqlalchemy import select

from .context import JobContext
from .entities import EVENTS, TIMELINE_READS, rows_of, store
from .github import REVIEW_BATCH, ReviewsAPI
from .models import Issue, PullRequest
from .store import committed

# Timeline event types no repo listing carries.
TIMELINE_ONLY = frozenset({"cross-referenced", "committed", "line-commented", "commit-commented"})
# Read from their own listings, not from the issue events listing.
LISTED_APART = frozenset({"commented", "reviewed"})


def needs_timelines(ctx: JobContext) -> bool:
    """Whether tracked event types only per-item timelines carry."""
    return bool(ctx.settings.tracked_events & TIMELINE_ONLY)


def stored_items(ctx: JobContext, repo: str, created: tuple[datetime, datetime] | None = None) -> list[dict]:
    """The repo's stored issues and PRs (created within `created`, if given), as event parents."""
    found = []
    for model in (Issue, PullRequest):
        statement = select(
            model.id, model.node_id, model.number, model.org, model.repo, model.url, model.updated_at, model.created_at
        ).where(model.org == ctx.settings.org, model.repo == repo)
        if created is not None:
            statement = statement.where(model.created_at.between(*created))
        kind = "pr" if model is PullRequest else "issue"
        found += [{**row._mapping, "kind": kind} for row in ctx.session.execute(statement)]
    return found


def sync_repo_events(ctx: JobContext, repo: str, since: datetime) -> None:
    """The repo's issue events since `since` and its comments created or edited since, for the items we store;
    stored as they stream in, a few thousand rows at a time."""
    tracked, org = ctx.settings.tracked_events, ctx.settings.org
    items = stored_items(ctx, repo)
    by_id, by_number = {item["id"]: item for item in items}, {item["number"]: item for item in items}

    def issue_events() -> Iterator[list[dict]]:
        for event in ctx.api.repo_issue_events(org, repo, since):
            item = by_id.get((event.get("issue") or {}).get("id"))
            if item is not None and event.get("event") in tracked:
                yield rows_of(ctx, EVENTS, [{k: v for k, v in event.items() if k != "issue"}], item)

    def comments() -> Iterator[list[dict]]:
        for comment in ctx.api.repo_comments(org, repo, since):
            item = by_number.get(_number(comment.get("issue_url")))
            if item is not None:
                yield rows_of(ctx, EVENTS, [{**comment, "event": "commented", "actor": comment.get("user")}], item)

    if tracked - LISTED_APART - TIMELINE_ONLY:
        _store_streamed(ctx, issue_events())
    if "commented" in tracked:
        _store_streamed(ctx, comments())


STORE_EVERY = 5000


def _store_streamed(ctx: JobContext, batches: Iterable[list[dict]]) -> None:
    """Store event rows as they stream in, STORE_EVERY at a time (each chunk committed)."""
    rows: list[dict] = []
    for batch in batches:
        rows += batch
        if len(rows) >= STORE_EVERY:
            _store_events(ctx, rows)
            rows = []
    _store_events(ctx, rows)


def _store_events(ctx: JobContext, rows: list[dict]) -> None:
    with committed(ctx.session):
        store(ctx, EVENTS, rows)


def sync_reviews(ctx: JobContext, pulls: list[dict]) -> None:
    """The reviews of these pull requests, as `reviewed` events (GraphQL in bulk, or REST per PR), stored as they
    stream in."""
    if "reviewed" not in ctx.settings.tracked_events or not pulls:
        return
    found = ReviewsAPI(ctx.api, ctx.settings.reviews_via).of(pulls)
    _store_streamed(ctx, (rows_of(ctx, EVENTS, reviews, pull) for pull, reviews in found))


def mark_read(ctx: JobContext, items: list[dict]) -> None:
    """These items' events are complete (their whole life lies within what the listings covered)."""
    reads = [TIMELINE_READS.to_row({"outcome": "read", "read_at": ctx.started}, item) for item in items]
    with committed(ctx.session):
        store(ctx, TIMELINE_READS, reads)


def _number(issue_url: str | None) -> int | None:
    tail = (issue_url or "").rstrip("/").rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None


def read_period(ctx: JobContext, repos: tuple[str, ...], since: datetime, created: tuple[datetime, datetime]) -> None:
    """Every event of the items created in a period (their events cannot predate it), one repo at a time: its
    listings from the period's start, then its issues marked read, then its PRs once their reviews are stored.
    PRs wait for a full GraphQL query's worth (fifty, across repos), so small repos cost no extra queries, and
    what is held in memory is one repo's items, not the org's."""
    waiting: list[dict] = []
    for repo in repos:
        sync_repo_events(ctx, repo, since)
        items = stored_items(ctx, repo, created)
        mark_read(ctx, [item for item in items if item["kind"] == "issue"])
        waiting += [item for item in items if item["kind"] == "pr"]
        ready = len(waiting) - len(waiting) % REVIEW_BATCH
        _read_reviews(ctx, waiting[:ready])
        waiting = waiting[ready:]
    _read_reviews(ctx, waiting)


def _read_reviews(ctx: JobContext, pulls: list[dict]) -> None:
    sync_reviews(ctx, pulls)
    mark_read(ctx, pulls)


def read_changes(ctx: JobContext, changed_rows: list[dict], since: datetime) -> None:
    """What changed since `since`: each repo's listings from then, the reviews of the PRs updated since then
    (fifty to a query; one without `updated_at` counts as updated), and the items created since then marked
    read."""
    window = (since.replace(tzinfo=None), ctx.started.replace(tzinfo=None))
    for repo in ctx.repos:
        if ctx.deadline.passed:
            ctx.report.stopped_early = True
            return
        sync_repo_events(ctx, repo, since)
    pulls = [row for row in changed_rows if row.get("pull_request") is not None]
    sync_reviews(ctx, [row for row in pulls if (row.get("updated_at") or window[1]) >= window[0]])
    mark_read(ctx, [item for repo in ctx.repos for item in stored_items(ctx, repo, window)])
