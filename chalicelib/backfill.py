"""History for any period: per repo and kind, windows under the search cap, checkpointed as they complete."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

from sqlalchemy import delete, select

from .context import JobContext
from .entities import parse_timestamp
from .github import PAGE_SIZE, SEARCH_RESULT_CAP, GitHubAPI, Window
from .models import BackfillCheckpoint
from .sync import store_items
from .timeline import sync_timelines

KINDS = {"issues": "is:issue", "prs": "is:pr"}
SEARCHES_PER_MINUTE = 30


@dataclass(frozen=True)
class BackfillPlan:
    since: datetime
    until: datetime
    repos: tuple[str, ...]
    kinds: tuple[str, ...]
    events: bool = False
    restart: bool = False

    @property
    def window(self) -> Window:
        return Window(self.since, self.until)


class Coverage:
    """The completed windows of one (repo, kind), to tell whether a window is already stored whole."""

    def __init__(self, spans: list[tuple[datetime, datetime]]):
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


def load_coverage(ctx: JobContext, repo: str, kind: str) -> Coverage:
    rows = ctx.session.execute(select(BackfillCheckpoint.window_start, BackfillCheckpoint.window_end).where(
        BackfillCheckpoint.repo == repo, BackfillCheckpoint.kind == kind)).all()
    return Coverage([(row.window_start, row.window_end) for row in rows])


def checkpoint(ctx: JobContext, repo: str, kind: str, window: Window, items: int) -> None:
    ctx.session.merge(BackfillCheckpoint(repo=repo, kind=kind, window_start=parse_timestamp(window.start),
                                         window_end=parse_timestamp(window.end), items=items,
                                         completed_at=parse_timestamp(datetime.now(timezone.utc))))
    ctx.session.commit()


def run_backfill(ctx: JobContext, plan: BackfillPlan, progress: Callable[[str, int], None]) -> None:
    """Store every issue/PR created in the plan's period, window by window; each finished window is a
    checkpoint, so an interrupted run resumes where it stopped (unless `restart`). `progress` is told of
    each window (a line of text and its item count)."""
    org = ctx.settings.org
    for repo in plan.repos:
        for kind in plan.kinds:
            if plan.restart:
                ctx.session.execute(delete(BackfillCheckpoint).where(
                    BackfillCheckpoint.repo == repo, BackfillCheckpoint.kind == kind))
                ctx.session.commit()
            coverage = load_coverage(ctx, repo, kind)
            query = f"repo:{org}/{repo} {KINDS[kind]}"
            for window, items in ctx.api.search_windows(query, field="created", window=plan.window,
                                                         skip=coverage.covers):
                rows = store_items(ctx, items)
                if plan.events:
                    sync_timelines(ctx, rows)
                checkpoint(ctx, repo, kind, window, len(rows))
                ctx.report.repos.setdefault(repo, {"windows": 0, "items": 0})
                ctx.report.repos[repo]["windows"] += 1
                ctx.report.repos[repo]["items"] += len(rows)
                message = (f"{repo} {kind} {window.qualifier('created')}: {len(rows)} items "
                           f"({ctx.api.stats.summary()})")
                progress(message, len(rows))


@dataclass
class Estimate:
    lines: list[str]
    items: int
    search_requests: int
    core_requests: int

    @property
    def minutes(self) -> float:
        return self.search_requests / SEARCHES_PER_MINUTE


def estimate(api: GitHubAPI, org: str, plan: BackfillPlan, covered=lambda repo, kind, window: False) -> Estimate:
    """What a run would ask, from one count per (repo, kind): windows, requests and time, nothing written."""
    lines, items, searches, core = [], 0, 0, 0
    for repo in plan.repos:
        for kind in plan.kinds:
            if covered(repo, kind, plan.window):
                lines.append(f"{repo} {kind} {plan.window.qualifier('created')}: done (checkpointed)")
                continue
            total = api.search_count(f"repo:{org}/{repo} {KINDS[kind]} {plan.window.qualifier('created')}")
            windows = 1 if total <= SEARCH_RESULT_CAP else math.ceil(total / (SEARCH_RESULT_CAP * 0.9))
            pages = max(1, math.ceil(total / PAGE_SIZE)) + (windows if windows > 1 else 0)
            lines.append(f"{repo} {kind} {plan.window.qualifier('created')}: {total} items, "
                         f"{windows} window{'s' if windows > 1 else ''}, ~{pages} search requests")
            items += total
            searches += pages
            if plan.events:
                core += total
    return Estimate(lines, items, searches, core)
