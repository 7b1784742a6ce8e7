"""Timeline events read per repo, not per item: passes over repos, each walking a repo's two listings (100 events a
page, whatever the number of items; `listing_proof`), reading its pull requests' reviews in bulk, and sending what
the listings could not prove to the items' own timelines (newest first, within the budget), so a refused or
truncated listing costs requests, never events. Each repo's progress is kept on its own, so a pass that does not
fit in one run continues where it stopped.

What only a timeline has (`cross-referenced`, `committed`, review and commit comment threads) is read per item by
`timelines.py` when it is tracked. A reaction alone changes no comment's `updated_at`: the comments listing sees it
with the comment's next edit, the per-item timeline (`EVENTS_SOURCE=timelines`) at once.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .context import JobContext
from .entities import EVENTS
from .github import REVIEW_BATCH
from .listing_proof import mark_read, never_read, stored_comment_counts, stored_items, sync_repo_events
from .load import load_streamed, rows_of
from .models import read_item_ids
from .state import LISTINGS, LISTINGS_COVERED, LISTINGS_WALKED
from .times import parse_timestamp

# How often nrt_events runs (app.py): a sweep of quiet repos walks this share of its interval's repos per run.
NRT_EVERY = timedelta(minutes=10)


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
    completed: Callable[[str, int], None] = lambda repo, pages_with_body: None


@dataclass
class PassResult:
    """The repos whose listings a pass walked, and whether every repo it was given was completed."""

    walked: list[str] = field(default_factory=list)
    complete: bool = True


@dataclass
class _RepoWork:
    repo: str
    with_body: int = 0
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
        work = _RepoWork(repo, listing.with_body)
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
        plan.completed(work.repo, work.with_body)


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
        completed=lambda repo, _found: completed(repo),
    )
    return run_pass(ctx, repos, plan).complete


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
    """When the last pass over this repo's listings that read a page with a body began: its walks start there."""
    return LISTINGS.of(repo).value(ctx.session)


def read_changes(ctx: JobContext, fallback_since: datetime, timelines: Timelines, changed: list[dict]) -> bool:
    """What changed in the repos where something changed (`repos_to_walk`), each since its own cursor (less the
    overlap; `fallback_since` for a repo never passed): its listings, the reviews of its
    PRs updated since, the items created since marked read, and the changed items the listings could not prove
    read through their timelines. Repos least recently walked go first, so a pass cut short by the deadline is
    continued where it stopped. A walk whose every page answered 304 leaves the repo's start where it was, so
    its listing URLs stay the same and the next sweep answers 304 again; so does a repo's first walk (its start
    is kept where that walk began, not moved to now, which would change the URL and cost a quiet repo a
    counted page on its next sweep). Returns whether every repo was completed."""
    cursors = {repo: repo_cursor(ctx, repo) for repo in ctx.repos}
    walked = {repo: LISTINGS_WALKED.of(repo).value(ctx.session) for repo in ctx.repos}

    def since(repo: str) -> datetime:
        cursor = cursors[repo]
        return (
            fallback_since if cursor is None else cursor.replace(tzinfo=ctx.started.tzinfo) - ctx.settings.sync_overlap
        )

    def completed(repo: str, pages_with_body: int) -> None:
        if cursors[repo] is None:
            LISTINGS.of(repo).advance(ctx.session, since(repo) + ctx.settings.sync_overlap)
        elif pages_with_body:
            LISTINGS.of(repo).advance(ctx.session, ctx.started)
        LISTINGS_WALKED.of(repo).advance(ctx.session, ctx.started)

    plan = RepoPass(
        since=since,
        scope=lambda repo, start: _changed(ctx, repo, parse_timestamp(start)),
        timelines=timelines,
        completed=completed,
    )
    return run_pass(ctx, repos_to_walk(ctx, changed, walked), plan).complete


def repos_to_walk(ctx: JobContext, changed: list[dict], walked: dict[str, datetime | None]) -> list[str]:
    """The repos whose listings this run walks, least recently walked first: those never walked, those where the
    search found an item updated since their last walk less the overlap (search indexes with a lag, as for
    every watermark) or one never read, and a share of the others, oldest first, as a sweep that reaches each at
    least every LISTINGS_SWEEP_HOURS. GitHub does not define which changes move an item's `updated_at`; the
    sweep catches those that do not, at the cost of two 304s for a quiet repo."""
    tracked = {repo.lower(): repo for repo in ctx.repos}
    unread = {row["id"] for row in changed} - read_item_ids(ctx.session, [row["id"] for row in changed])
    moved = set()
    for row in changed:
        repo = tracked.get((row.get("repo") or "").lower())
        last = walked.get(repo) if repo else None
        recent = last is None or (row.get("updated_at") or datetime.max) >= last - ctx.settings.sync_overlap
        if repo and (recent or row["id"] in unread):
            moved.add(repo)
    due = {repo for repo in ctx.repos if walked[repo] is None} | moved
    sweep_before = parse_timestamp(ctx.started - ctx.settings.listings_sweep)
    stale = sorted(
        (repo for repo in ctx.repos if repo not in due and walked[repo] < sweep_before),
        key=lambda repo: (walked[repo], repo),
    )
    share = math.ceil(len(ctx.repos) * NRT_EVERY / ctx.settings.listings_sweep)
    chosen = due | set(stale[:share])
    return sorted(chosen, key=lambda repo: (walked[repo] is not None, walked[repo] or datetime.min, repo))
