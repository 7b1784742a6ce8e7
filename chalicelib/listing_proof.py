"""What one repo's two listings prove: its issue events and comments walked since a moment, stored through the
`EVENTS` entity as they stream in (so the `events` table cannot tell a listing's row from a timeline's), and which
of its items that walk proves read whole. The passes over repos (`listings`) build on it.

A listing is not taken on trust. An item counts as read from the listings only when the issue-events walk
proved it reached back past the item's start (see `github.IssueEventsWalk`), the comments walk ran to its end
and holds at least as many of the item's comments as GitHub's `comments` count says, and (for a PR) its reviews
were read whole (the passes' part).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exists, func, or_, select

from .config import Settings
from .context import JobContext
from .entities import EVENTS, TIMELINE_READS, comment_as_event
from .load import load_streamed, put, rows_of, unit
from .models import Event, Issue, PullRequest, TimelineRead
from .state import PageValidators
from .times import parse_timestamp

# Timeline event types no repo listing carries.
TIMELINE_ONLY = frozenset({"cross-referenced", "committed", "line-commented", "commit-commented"})
# Read from their own listings, not from the issue events listing.
LISTED_APART = frozenset({"commented", "reviewed"})


def needs_timelines(settings: Settings) -> bool:
    """Whether tracked event types only per-item timelines carry."""
    return bool(settings.tracked_events & TIMELINE_ONLY)


def stored_items(
    ctx: JobContext,
    repo: str,
    created: tuple[datetime, datetime] | None = None,
    updated_since: datetime | None = None,
) -> list[dict]:
    """The repo's stored issues and PRs (created within `created`, or updated since `updated_since`, if given),
    as event parents."""
    found = []
    for model in (Issue, PullRequest):
        statement = select(*_parent_columns(model)).where(model.org == ctx.settings.org, model.repo == repo)
        if created is not None:
            statement = statement.where(model.created_at.between(*created))
        if updated_since is not None:
            statement = statement.where(or_(model.updated_at >= updated_since, model.updated_at.is_(None)))
        kind = "pr" if model is PullRequest else "issue"
        found += [{**row._mapping, "kind": kind} for row in ctx.session.execute(statement)]
    return found


def _parent_columns(model) -> tuple:
    """What an item carries as the parent of its events, its timeline and its proof."""
    return (
        model.id,
        model.node_id,
        model.number,
        model.org,
        model.repo,
        model.url,
        model.timeline_url,
        model.comments,
        model.updated_at,
        model.created_at,
    )


@dataclass
class RepoListing:
    """What one repo's two listings proved from `since` on (naive UTC, as the tables store time).

    `events_from`: every issue event created at or after it was read (None: nothing proven; `since` when the
    issue events are not tracked). `comments_complete`: the comments walk ran to its end (True when comments are
    not tracked). `problems`: why a walk proves less than it should, for the run's warnings."""

    repo: str
    since: datetime
    events_from: datetime | None
    comments_complete: bool
    counts_comments: bool
    problems: list[str] = field(default_factory=list)
    refused: bool = False
    known_ids: frozenset[int] = frozenset()
    with_body: int = 0

    def proves(self, item: dict, stored_comments: dict[int, int]) -> bool:
        """Whether every tracked event of `item` from the pass's start (or the item's, if later) was read. Only
        items stored when the walks began can be proven: the events of one stored later (by another job, while
        the walk went on) were passed over as belonging to no item."""
        if item["id"] not in self.known_ids:
            return False
        start = max(self.since, item["created_at"] or self.since)
        if self.events_from is None or self.events_from > start:
            return False
        if not self.counts_comments:
            return True
        return self.comments_complete and stored_comments.get(item["id"], 0) >= (item["comments"] or 0)


def sync_repo_events(ctx: JobContext, repo: str, since: datetime) -> RepoListing:
    """The repo's issue events since `since` and its comments created or edited since, for the items we store;
    stored as they stream in, a few thousand rows at a time. A walk GitHub refuses ends there: what it read
    stays stored, and the result says what was proven. Pages unchanged since a walk that knew the same items
    answer 304 (no rate limit); the validators of the pages read are kept once their rows are committed."""
    tracked, org = ctx.settings.tracked_events, ctx.settings.org
    items = stored_items(ctx, repo)
    by_id, by_number = {item["id"]: item for item in items}, {item["number"]: item for item in items}
    listing = RepoListing(repo, parse_timestamp(since), parse_timestamp(since), True, "commented" in tracked)
    listing.known_ids = frozenset(by_id)
    validators, fingerprint = PageValidators(f"{org}/{repo}"), walk_fingerprint(by_id, tracked)
    known = validators.known(ctx.session, fingerprint, since)
    walks = []

    if tracked - LISTED_APART - TIMELINE_ONLY:
        walk = ctx.api.repo_issue_events(org, repo, since, known)

        def issue_events() -> Iterator[list[dict]]:
            for event in walk:
                item = by_id.get((event.get("issue") or {}).get("id")) if isinstance(event, dict) else None
                if item is not None and event.get("event") in tracked:
                    yield rows_of(ctx, EVENTS, [{k: v for k, v in event.items() if k != "issue"}], item)

        load_streamed(ctx, EVENTS, issue_events())
        listing.events_from = parse_timestamp(walk.proven_from)
        _note(listing, "issue events", walk)
        walks.append(walk)
    if listing.counts_comments:
        walk = ctx.api.repo_comments(org, repo, since, known)

        def comments() -> Iterator[list[dict]]:
            for comment in walk:
                item = by_number.get(_number(comment.get("issue_url"))) if isinstance(comment, dict) else None
                if item is not None:
                    yield rows_of(ctx, EVENTS, [comment_as_event(comment)], item)

        load_streamed(ctx, EVENTS, comments())
        listing.comments_complete = walk.complete
        _note(listing, "comments", walk)
        walks.append(walk)
    validators.keep(ctx.session, fingerprint, {url: v for walk in walks for url, v in walk.fresh.items()}, since)
    listing.with_body = sum(walk.with_body for walk in walks)
    return listing


def walk_fingerprint(items: Iterable[int], tracked: Iterable[str]) -> str:
    """What a walk knew that decides what it stored: the repo's stored items and the tracked event types."""
    text = ",".join(map(str, sorted(items))) + "|" + ",".join(sorted(tracked))
    return hashlib.sha1(text.encode()).hexdigest()


def _note(listing: RepoListing, name: str, walk) -> None:
    if walk.problem:
        listing.problems.append(f"{name}: {walk.problem}")
    listing.refused = listing.refused or walk.refused is not None


def stored_comment_counts(ctx: JobContext, repo: str) -> dict[int, int]:
    """How many comments we hold per item of the repo."""
    statement = (
        select(Event.issue_id, func.count())
        .where(Event.org == ctx.settings.org, Event.repo == repo, Event.event == "commented")
        .group_by(Event.issue_id)
    )
    return dict(ctx.session.execute(statement).all())


def mark_read(ctx: JobContext, items: list[dict]) -> None:
    """These items' events are complete (their whole life lies within what the listings proved)."""
    reads = [TIMELINE_READS.to_row({"outcome": "read", "read_at": ctx.started}, item) for item in items]
    with unit(ctx):
        put(ctx, TIMELINE_READS, reads)


def _number(issue_url: str | None) -> int | None:
    tail = (issue_url or "").rstrip("/").rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None


def never_read(ctx: JobContext, repo: str) -> list[dict]:
    """The repo's stored items whose events were never read whole."""
    found = []
    for model in (Issue, PullRequest):
        unread = ~exists().where(TimelineRead.item_id == model.id)
        statement = select(*_parent_columns(model)).where(model.org == ctx.settings.org, model.repo == repo, unread)
        kind = "pr" if model is PullRequest else "issue"
        found += [{**row._mapping, "kind": kind} for row in ctx.session.execute(statement)]
    return found
