"""Daily's completeness check: per search scope (one `org:` query, or packed `repo:` lists), GitHub's counts
against ours, bisecting time only where they differ; so a consistent org costs two searches however many repos
it has."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from .context import JobContext
from .github import IncompleteSearch, Window
from .models import Issue, PullRequest
from .search import Scope, search_scopes, store_items
from .state import DAILY
from .times import parse_timestamp, whole_seconds

log = logging.getLogger(__name__)


# The longest qualifiers a check adds to a scope's terms (with a date range): scopes are packed to leave room.
CHECK_QUALIFIERS = "is:pr is:merged"


@dataclass
class RepoCheck:
    """One scope's line in daily's report: GitHub's count, ours after settling, items fetched again, and what
    settling the missing ones did."""

    github: int = 0
    stored: int = 0
    fetched: int = 0
    removed: int = 0
    transferred: int = 0
    complete: bool = True


def daily_window(ctx: JobContext) -> Window:
    """From the configured start to an hour ago: newer items are every_30_min's (search indexes with a lag)."""
    return Window(whole_seconds(ctx.settings.reconcile_since), whole_seconds(ctx.started - timedelta(hours=1)))


def scopes_least_recently_checked(ctx: JobContext) -> list[Scope]:
    """The scopes daily checks, their repos least recently checked first, so a run cut short by the time limit
    is continued by the next one where it stopped."""
    last_done = {repo: DAILY.of(repo).value(ctx.session) or datetime.min for repo in ctx.repos}
    ordered = sorted(last_done, key=lambda name: (last_done[name], name))
    return search_scopes(ctx, CHECK_QUALIFIERS, ordered)


def _created_in(ctx: JobContext, model, scope: Scope, window: Window):
    """Rows of `model` for the scope's repos created within the window."""
    return (
        model.org == ctx.settings.org,
        model.repo.in_(scope.repos),
        model.created_at.between(parse_timestamp(window.start), parse_timestamp(window.end)),
    )


def stored_counts(ctx: JobContext, scope: Scope, window: Window) -> tuple[int, int]:
    """Items and merged PRs we hold for the scope's repos created within a window."""
    total = sum(
        ctx.session.scalar(select(func.count()).select_from(model).where(*_created_in(ctx, model, scope, window)))
        for model in (Issue, PullRequest)
    )
    merged = ctx.session.scalar(
        select(func.count())
        .select_from(PullRequest)
        .where(*_created_in(ctx, PullRequest, scope, window), PullRequest.merged.is_(True))
    )
    return total, merged


def _stored_rows_in(ctx: JobContext, scope: Scope, window: Window) -> list[dict]:
    return [
        {"id": row.id, "url": row.url, "model": model}
        for model in (Issue, PullRequest)
        for row in ctx.session.execute(select(model.id, model.url).where(*_created_in(ctx, model, scope, window)))
    ]


def check_scope(ctx: JobContext, scope: Scope, window: Window) -> tuple[RepoCheck, list[dict]]:
    """Make the scope's stored items in a window match GitHub's; returns the check and the stored items GitHub
    no longer lists there (for the transfers step to ask about). Stops, flagging the report, at the deadline.

    Equal totals for a scope of several repos are taken as each repo's being right: a repo missing an item
    and another holding one GitHub dropped, in the same window, would cancel out until either changes."""
    check, missing = RepoCheck(), []
    counted = _reconcile_window(ctx, scope, window, check, missing)
    check.github = counted[0] if counted else 0
    return check, missing


def _github_counts(ctx: JobContext, scope: Scope, window: Window, check: RepoCheck) -> tuple[int, int] | None:
    """GitHub's counts of all items and of merged PRs in the window; None (the check incomplete) when its
    search stayed incomplete."""
    try:
        return (
            ctx.api.search_count(f"{scope.terms} {window.qualifier('created')}"),
            ctx.api.search_count(f"{scope.terms} is:pr is:merged {window.qualifier('created')}"),
        )
    except IncompleteSearch:
        check.complete = False
        ctx.report.warn(
            f"daily {scope.label} {window.qualifier('created')}: GitHub's counts stayed incomplete; not acted on"
        )
        return None


def _reconcile_window(
    ctx: JobContext,
    scope: Scope,
    window: Window,
    check: RepoCheck,
    missing: list[dict],
    known: tuple[int, int] | None = None,
) -> tuple[int, int] | None:
    """GitHub's two counts (all items, merged PRs; `known` when the caller worked them out) are compared with
    ours; equal windows cost nothing more. A window that differs is fetched whole when it is small or mostly
    wrong, else halved: the first half is counted, the second's counts are the window's less the first's.
    Returns GitHub's counts for the window, None when they are not known (incomplete, or out of time)."""
    if ctx.out_of_time():
        return None
    counts = known or _github_counts(ctx, scope, window, check)
    if counts is None:
        return None
    stored = stored_counts(ctx, scope, window)
    if counts == stored:
        return counts
    github_total = counts[0]
    differs = abs(github_total - stored[0]) + abs(counts[1] - stored[1])
    small = github_total <= 100 or window.seconds < 3600 or differs * 10 >= github_total
    if (not small or github_total > 1000) and window.seconds > 0:
        first, second = window.split(2)
        first_counts = _reconcile_window(ctx, scope, first, check, missing)
        rest = (counts[0] - first_counts[0], counts[1] - first_counts[1]) if first_counts else None
        _reconcile_window(ctx, scope, second, check, missing, rest)
        return counts
    _fetch_window(ctx, scope, window, check, missing)
    return counts


def _fetch_window(ctx: JobContext, scope: Scope, window: Window, check: RepoCheck, missing: list[dict]) -> None:
    """Every item of the window stored again; the stored ones GitHub did not list there are `missing`."""
    seen: set[int] = set()
    complete = True
    for result in ctx.api.search_windows(scope.terms, field="created", window=window):
        seen |= {row["id"] for row in store_items(ctx, result.items)}
        complete = complete and result.complete
    check.fetched += len(seen)
    if complete:
        missing += [row for row in _stored_rows_in(ctx, scope, window) if row["id"] not in seen]
    else:
        check.complete = False
        ctx.report.warn(
            f"daily {scope.label} {window.qualifier('created')}: GitHub's results stayed incomplete; not acted on"
        )


def record_check(ctx: JobContext, scope: Scope, window: Window, check: RepoCheck) -> None:
    """The scope's line in the run's report, and its repos' watermarks when it was checked whole (repos GitHub
    answered incompletely stay first in line for the next run)."""
    check.stored = stored_counts(ctx, scope, window)[0]
    ctx.report.repos[scope.label] = check
    log.info(
        "daily %s: %d on GitHub, %d stored, %d fetched again, %d removed, %d transferred",
        scope.label,
        check.github,
        check.stored,
        check.fetched,
        check.removed,
        check.transferred,
    )
    if check.complete:
        for repo in scope.repos:
            DAILY.of(repo).advance(ctx.session, ctx.started)
