"""Timeline events read per repo, not per item: the repo's issue events and comments from its two listings (100 a
page, whatever the number of items), and pull requests' reviews in bulk. Each is mapped through the same `EVENTS`
entity as a timeline's, so the `events` table cannot tell where a row came from.

A listing is not taken on trust. An item counts as read from the listings only when the issue-events walk
proved it reached back past the item's start (see `github.IssueEventsWalk`), the comments walk ran to its end
and holds at least as many of the item's comments as GitHub's `comments` count says, and (for a PR) its reviews
were read whole. Every other item of the pass goes to its own timeline (newest first, within the budget), so a
refused or truncated listing costs requests, never events. Each repo's progress is kept on its own, so a pass
that does not fit in one run continues where it stopped.

What only a timeline has (`cross-referenced`, `committed`, review and commit comment threads) is read per item by
`timelines.py` when it is tracked. A reaction alone changes no comment's `updated_at`: the comments listing sees it
with the comment's next edit, the per-item timeline (`EVENTS_SOURCE=timelines`) at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exists, func, or_, select

from .config import Settings
from .context import JobContext
from .entities import EVENTS, TIMELINE_READS, comment_as_event
from .github import REVIEW_BATCH
from .load import load_streamed, put, rows_of, unit
from .models import Event, Issue, PullRequest, TimelineRead, read_item_ids
from .state import LISTINGS, LISTINGS_COVERED
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
    stays stored, and the result says what was proven."""
    tracked, org = ctx.settings.tracked_events, ctx.settings.org
    items = stored_items(ctx, repo)
    by_id, by_number = {item["id"]: item for item in items}, {item["number"]: item for item in items}
    listing = RepoListing(repo, parse_timestamp(since), parse_timestamp(since), True, "commented" in tracked)
    listing.known_ids = frozenset(by_id)

    if tracked - LISTED_APART - TIMELINE_ONLY:
        walk = ctx.api.repo_issue_events(org, repo, since)

        def issue_events() -> Iterator[list[dict]]:
            for event in walk:
                item = by_id.get((event.get("issue") or {}).get("id")) if isinstance(event, dict) else None
                if item is not None and event.get("event") in tracked:
                    yield rows_of(ctx, EVENTS, [{k: v for k, v in event.items() if k != "issue"}], item)

        load_streamed(ctx, EVENTS, issue_events())
        listing.events_from = parse_timestamp(walk.proven_from)
        _note(listing, "issue events", walk)
    if listing.counts_comments:
        walk = ctx.api.repo_comments(org, repo, since)

        def comments() -> Iterator[list[dict]]:
            for comment in walk:
                item = by_number.get(_number(comment.get("issue_url"))) if isinstance(comment, dict) else None
                if item is not None:
                    yield rows_of(ctx, EVENTS, [comment_as_event(comment)], item)

        load_streamed(ctx, EVENTS, comments())
        listing.comments_complete = walk.complete
        _note(listing, "comments", walk)
    return listing


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


@dataclass(frozen=True)
class Timelines:
    """How a pass reads the items the listings could not prove: each through its own timeline (`read` returns the
    ids it settled), as many as `budget` allows now (None: all)."""

    read: Callable[[list[dict]], set[int]]
    budget: Callable[[], int | None] = lambda: None


@dataclass(frozen=True)
class RepoPass:
    """How a pass over repos treats each one: where its listings start, which items it must prove, and what is
    recorded once the repo is complete."""

    since: Callable[[str], datetime]
    scope: Callable[[str, datetime], list[dict]]
    timelines: Timelines
    completed: Callable[[str], None] = lambda repo: None


@dataclass
class PassResult:
    """The repos whose listings a pass walked, and whether every repo it was given was completed."""

    walked: list[str] = field(default_factory=list)
    complete: bool = True


@dataclass
class _RepoWork:
    repo: str
    waiting: int = 0
    complete: bool = True


def run_pass(ctx: JobContext, repos: Iterable[str], plan: RepoPass) -> PassResult:
    """Each repo's listings, then the items they proved marked read (issues at once, PRs once their reviews are
    stored), and the rest read through their own timelines. PRs wait for a full GraphQL query's worth (fifty,
    across repos), so small repos cost no extra queries. Stops between repos at the deadline."""
    reviews = _ReviewQueue(ctx, lambda work: _finish(plan, work))
    result = PassResult()
    for repo in repos:
        if ctx.out_of_time():
            result.complete = False
            break
        since = plan.since(repo)
        listing = sync_repo_events(ctx, repo, since)
        result.walked.append(repo)
        if listing.problems:
            if listing.refused:
                ctx.report.listings_refused.append(repo)
            ctx.report.warn(
                f"{ctx.settings.org}/{repo} listings since {listing.since:%Y-%m-%d %H:%M}: "
                + "; ".join(listing.problems)
                + ". Its items that the listings could not prove go to their own timelines."
            )
        work = _RepoWork(repo)
        counts = stored_comment_counts(ctx, repo) if listing.counts_comments else {}
        proven, unproven = [], []
        for item in plan.scope(repo, since):
            (proven if listing.proves(item, counts) else unproven).append(item)
        work.complete = _read_unproven(ctx, plan.timelines, repo, unproven)
        new = {item["id"] for item in proven if (item["created_at"] or listing.since) >= listing.since}
        mark_read(ctx, [item for item in proven if item["kind"] == "issue" and item["id"] in new])
        reviews.add(work, [(item, item["id"] in new) for item in proven if item["kind"] == "pr"])
        result.complete = result.complete and work.complete
    reviews.drain()
    result.complete = result.complete and reviews.all_read
    return result


def _read_unproven(ctx: JobContext, timelines: Timelines, repo: str, items: list[dict]) -> bool:
    """The items the listings could not prove, through their own timelines, newest first and within the budget;
    whether every one of them was settled."""
    if not items:
        return True
    ordered = sorted(items, key=lambda item: item["updated_at"] or datetime.min, reverse=True)
    budget = timelines.budget()
    chosen = ordered if budget is None else ordered[: max(0, budget)]
    ctx.report.timeline_fallbacks += len(chosen)
    settled = timelines.read(chosen) if chosen else set()
    left = len(items) - len(settled & {item["id"] for item in items})
    if left:
        ctx.report.warn(f"{ctx.settings.org}/{repo}: {left} items left for a later run's timelines (budget)")
    return left == 0


def _finish(plan: RepoPass, work: _RepoWork) -> None:
    if work.complete:
        plan.completed(work.repo)


class _ReviewQueue:
    """Proven PRs waiting for their reviews, across repos, each with whether it is new (created within the pass,
    so marked read once its reviews are stored); a repo is finished once none of its PRs waits."""

    def __init__(self, ctx: JobContext, finish: Callable[[_RepoWork], None]):
        self.ctx, self.finish = ctx, finish
        self.waiting: list[tuple[_RepoWork, dict, bool]] = []
        self.all_read = True

    def add(self, work: _RepoWork, pulls: list[tuple[dict, bool]]) -> None:
        if not pulls:
            self.finish(work)
            return
        work.waiting += len(pulls)
        self.waiting += [(work, pull, new) for pull, new in pulls]
        self._send(len(self.waiting) - len(self.waiting) % REVIEW_BATCH)

    def drain(self) -> None:
        self._send(len(self.waiting))

    def _send(self, count: int) -> None:
        batch, self.waiting = self.waiting[:count], self.waiting[count:]
        if not batch:
            return
        tracked = "reviewed" in self.ctx.settings.tracked_events
        works = {pull["id"]: work for work, pull, _ in batch}
        read: list[dict] = []

        def rows() -> Iterator[list[dict]]:
            found = self.ctx.api.pull_reviews(
                [pull for _, pull, _ in batch], self.ctx.settings.reviews_via, self.ctx.report.warn
            )
            for pull, reviews in found:
                if reviews is None:
                    works[pull["id"]].complete = self.all_read = False
                    continue
                read.append(pull)
                yield rows_of(self.ctx, EVENTS, reviews, pull)

        if tracked:
            load_streamed(self.ctx, EVENTS, rows())
        else:
            read = [pull for _, pull, _ in batch]
        new = {pull["id"] for _, pull, is_new in batch if is_new}
        mark_read(self.ctx, [pull for pull in read if pull["id"] in new])
        sent = Counter(id(work) for work, _, _ in batch)
        for work in {id(work): work for work, _, _ in batch}.values():
            work.waiting -= sent[id(work)]
            if work.waiting == 0:
                self.finish(work)


def read_period(
    ctx: JobContext,
    repos: Iterable[str],
    since: datetime,
    created: tuple[datetime, datetime],
    timelines: Timelines,
    completed: Callable[[str], None],
) -> bool:
    """Every event of the items created in a period (their events cannot predate it), one repo at a time; each
    repo done is `completed` (a backfill checkpoints it, so a resumed one does not read it again). Returns
    whether every repo was completed."""
    plan = RepoPass(
        since=lambda repo: since,
        scope=lambda repo, _since: stored_items(ctx, repo, created),
        timelines=timelines,
        completed=completed,
    )
    return run_pass(ctx, repos, plan).complete


def never_read(ctx: JobContext, repo: str) -> list[dict]:
    """The repo's stored items whose events were never read whole."""
    found = []
    for model in (Issue, PullRequest):
        unread = ~exists().where(TimelineRead.item_id == model.id)
        statement = select(*_parent_columns(model)).where(model.org == ctx.settings.org, model.repo == repo, unread)
        kind = "pr" if model is PullRequest else "issue"
        found += [{**row._mapping, "kind": kind} for row in ctx.session.execute(statement)]
    return found


def read_unread(ctx: JobContext, timelines: Timelines) -> None:
    """Items stored without their events (a plain backfill, items older than any pass) read through the listings:
    each repo's walked back to its oldest such item, which costs a page per hundred events instead of a
    timeline per item; what the listings cannot prove goes to its own timeline within the budget. A repo's
    listings are walked that far back once (`state.LISTINGS_COVERED`): what is still unread after that is left to the
    per-item timelines (`timelines.read_unread`), so a deep walk is not repeated every run."""
    unread = {repo: never_read(ctx, repo) for repo in ctx.repos}
    oldest = {repo: min(item["created_at"] for item in items) for repo, items in unread.items() if items}
    walked_to = {repo: LISTINGS_COVERED.of(repo).value(ctx.session) for repo in oldest}
    repos = [repo for repo in oldest if walked_to[repo] is None or oldest[repo] < walked_to[repo]]
    plan = RepoPass(
        since=lambda repo: oldest[repo].replace(tzinfo=ctx.started.tzinfo),
        scope=lambda repo, _since: unread[repo],
        timelines=timelines,
    )
    result = run_pass(ctx, sorted(repos, key=lambda repo: (-len(unread[repo]), repo)), plan)
    for repo in result.walked:
        LISTINGS_COVERED.of(repo).advance(ctx.session, oldest[repo])


def _changed(ctx: JobContext, repo: str, since: datetime) -> list[dict]:
    """The repo's items updated since `since` whose events a changes pass must prove: those created since, and
    those read before (an older item never read is `read_unread`'s, which walks back to it)."""
    items = stored_items(ctx, repo, updated_since=since)
    read = read_item_ids(ctx.session, [item["id"] for item in items])
    return [item for item in items if item["id"] in read or (item["created_at"] or since) >= since]


def repo_cursor(ctx: JobContext, repo: str) -> datetime | None:
    """When the last pass that completed this repo's listings began."""
    return LISTINGS.of(repo).value(ctx.session)


def read_changes(ctx: JobContext, fallback_since: datetime, timelines: Timelines) -> bool:
    """What changed in each repo since its own last complete pass (less the overlap; `fallback_since` for a repo
    never passed): its listings, the reviews of its PRs updated since, the items created since marked read,
    and the changed items the listings could not prove read through their timelines. Repos least recently
    completed go first, so a pass cut short by the deadline is continued where it stopped. Returns whether
    every repo was completed."""
    cursors = {repo: repo_cursor(ctx, repo) for repo in ctx.repos}

    def since(repo: str) -> datetime:
        cursor = cursors[repo]
        return (
            fallback_since if cursor is None else cursor.replace(tzinfo=ctx.started.tzinfo) - ctx.settings.sync_overlap
        )

    plan = RepoPass(
        since=since,
        scope=lambda repo, start: _changed(ctx, repo, parse_timestamp(start)),
        timelines=timelines,
        completed=lambda repo: LISTINGS.of(repo).advance(ctx.session, ctx.started),
    )
    ordered = sorted(ctx.repos, key=lambda repo: (cursors[repo] is not None, cursors[repo] or datetime.min, repo))
    return run_pass(ctx, ordered, plan).complete
