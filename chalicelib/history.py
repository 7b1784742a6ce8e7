"""History for any period: per repo and kind, windows under the search cap, checkpointed as they complete."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .context import JobContext
from .github import PAGE_SIZE, REVIEW_BATCH, SEARCH_RESULT_CAP, GitHubAPI, Window
from .models import BackfillCheckpoint
from .search import store_items
from .times import parse_timestamp

KINDS = {"issues": "is:issue", "prs": "is:pr"}
# The checkpoint kind of a repo whose listings, reviews and fallback timelines were read for a period.
EVENTS_KIND = "events"
SEARCHES_PER_MINUTE = 30


@dataclass(frozen=True)
class BackfillPlan:
    since: datetime
    until: datetime
    repos: tuple[str, ...]
    kinds: tuple[str, ...]
    events: bool = False
    restart: bool = False
    fan_out: bool = False  # the events' listings queued per repo for the stage's functions (fanout.py)

    @property
    def window(self) -> Window:
        return Window(self.since, self.until)


class Coverage:
    """The completed windows of one (repo, kind), to tell whether a window is already stored whole."""

    def __init__(self, spans: list[tuple[datetime, datetime]], items: int = 0):
        self.items = items
        merged: list[list[datetime]] = []
        for start, end in sorted(spans):
            if merged and start <= merged[-1][1] + timedelta(seconds=1):
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        self.spans = merged

    def covers(self, window: Window) -> bool:
        start, end = parse_timestamp(window.start), parse_timestamp(window.end)
        return any(lo <= start and end <= hi for lo, hi in self.spans)


def load_coverage(session: Session, repo: str, kind: str) -> Coverage:
    rows = session.execute(
        select(BackfillCheckpoint.window_start, BackfillCheckpoint.window_end, BackfillCheckpoint.items).where(
            BackfillCheckpoint.repo == repo, BackfillCheckpoint.kind == kind
        )
    ).all()
    return Coverage([(row.window_start, row.window_end) for row in rows], sum(row.items or 0 for row in rows))


def created_range(plan: BackfillPlan) -> tuple[datetime, datetime]:
    """The plan's period as the naive UTC bounds the tables compare `created_at` with."""
    return parse_timestamp(plan.since), parse_timestamp(plan.until)


@dataclass
class WindowDone:
    """One window's items stored: their rows, and the search requests this window took."""

    repo: str
    kind: str
    window: Window
    rows: list[dict]
    search_requests: int
    complete: bool = True

    def describe(self) -> str:
        return (
            f"{self.repo} {self.kind} {self.window.qualifier('created')}: {len(self.rows)} items, "
            f"{self.search_requests} search requests" + ("" if self.complete else " (incomplete: not checkpointed)")
        )


@dataclass
class RepoProgress:
    """A repo's line in the backfill's report."""

    windows: int = 0
    items: int = 0


def windows(
    ctx: JobContext, plan: BackfillPlan, on_total: Callable[[int, int], None] | None = None
) -> Iterator[WindowDone]:
    """Store every issue/PR created in the plan's period, window by window, yielding each stored window.

    Windows already checkpointed are skipped without asking GitHub (all of them again with `restart`).
    `on_total(items, done)` is told, per repo and kind, GitHub's count for the whole period (from the first
    search it asks anyway) and how many of those earlier runs stored."""
    for repo in plan.repos:
        for kind in plan.kinds:
            if plan.restart:
                ctx.session.execute(
                    delete(BackfillCheckpoint).where(BackfillCheckpoint.repo == repo, BackfillCheckpoint.kind == kind)
                )
                ctx.session.commit()
            coverage = load_coverage(ctx.session, repo, kind)
            query = f"repo:{ctx.settings.org}/{repo} {KINDS[kind]}"
            searches_before = ctx.api.stats.search

            def counted(window: Window, total: int, coverage: Coverage = coverage) -> None:
                if window == plan.window and on_total is not None:
                    on_total(total, coverage.items)

            for result in ctx.api.search_windows(
                query, field="created", window=plan.window, skip=coverage.covers, counted=counted
            ):
                rows = store_items(ctx, result.items)
                searches = ctx.api.stats.search - searches_before
                yield WindowDone(repo, kind, result.window, rows, searches, result.complete)
                searches_before = ctx.api.stats.search


def checkpoint(ctx: JobContext, done: WindowDone) -> None:
    """The window is complete (items and, when asked, their timelines): a resumed run skips it. A window GitHub
    answered incompletely is counted but not checkpointed, so the next run asks for it again."""
    progress = ctx.report.repos.setdefault(done.repo, RepoProgress())
    progress.windows += 1
    progress.items += len(done.rows)
    if not done.complete:
        ctx.report.warn(f"{done.describe()}: GitHub's results stayed incomplete; run the backfill again")
        return
    ctx.session.merge(
        BackfillCheckpoint(
            repo=done.repo,
            kind=done.kind,
            window_start=parse_timestamp(done.window.start),
            window_end=parse_timestamp(done.window.end),
            items=len(done.rows),
            completed_at=parse_timestamp(datetime.now(UTC)),
        )
    )
    ctx.session.commit()


def repos_without_events(ctx: JobContext, plan: BackfillPlan) -> list[str]:
    """The plan's repos whose events for the period are not checkpointed yet (all of them with `restart`)."""
    pending = []
    for repo in plan.repos:
        if plan.restart:
            ctx.session.execute(
                delete(BackfillCheckpoint).where(
                    BackfillCheckpoint.repo == repo, BackfillCheckpoint.kind == EVENTS_KIND
                )
            )
            ctx.session.commit()
        if not load_coverage(ctx.session, repo, EVENTS_KIND).covers(plan.window):
            pending.append(repo)
    return pending


def checkpoint_events(ctx: JobContext, plan: BackfillPlan, repo: str) -> None:
    """The repo's events of the period are all stored: a resumed backfill does not read them again."""
    ctx.session.merge(
        BackfillCheckpoint(
            repo=repo,
            kind=EVENTS_KIND,
            window_start=parse_timestamp(plan.since),
            window_end=parse_timestamp(plan.until),
            items=0,
            completed_at=parse_timestamp(datetime.now(UTC)),
        )
    )
    ctx.session.commit()


@dataclass
class Estimate:
    lines: list[str]
    items: int
    search_requests: int
    core_requests: int
    graphql_queries: int = 0

    @property
    def minutes(self) -> float:
        return self.search_requests / SEARCHES_PER_MINUTE


def estimate(
    api: GitHubAPI,
    org: str,
    plan: BackfillPlan,
    covered=lambda repo, kind, window: False,
    per_item: bool = False,
) -> Estimate:
    """What a run would ask, from one count per (repo, kind) and, for events by listings, two listing requests
    per repo: windows, requests and time, nothing written. Per item, events cost a timeline per item; by
    listings, the repo's listing pages and a GraphQL query per fifty PRs (items the listings cannot prove
    cost a timeline each on top, which no count can tell beforehand)."""
    lines, items, searches, core, pulls = [], 0, 0, 0, 0
    for repo in plan.repos:
        for kind in plan.kinds:
            if covered(repo, kind, plan.window):
                lines.append(f"{repo} {kind} {plan.window.qualifier('created')}: done (checkpointed)")
                continue
            total = api.search_count(f"repo:{org}/{repo} {KINDS[kind]} {plan.window.qualifier('created')}")
            windows = 1 if total <= SEARCH_RESULT_CAP else math.ceil(total / (SEARCH_RESULT_CAP * 0.9))
            pages = max(1, math.ceil(total / PAGE_SIZE)) + (windows if windows > 1 else 0)
            lines.append(
                f"{repo} {kind} {plan.window.qualifier('created')}: {total} items, "
                f"{windows} window{'s' if windows > 1 else ''}, ~{pages} search requests"
            )
            items += total
            searches += pages
            pulls += total if kind == "prs" else 0
            if plan.events and per_item:
                core += total
        if plan.events and not per_item and not covered(repo, EVENTS_KIND, plan.window):
            listing = api.listing_pages(org, repo, plan.since)
            lines.append(f"{repo} events: ~{listing} listing pages")
            core += listing
    graphql = math.ceil(pulls / REVIEW_BATCH) if plan.events and not per_item else 0
    return Estimate(lines, items, searches, core, graphql)
