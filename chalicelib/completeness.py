"""Daily's completeness check: per repo, GitHub's counts against ours, bisecting only where they differ."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from .context import JobContext
from .github import IncompleteSearch, Window
from .models import Issue, PullRequest
from .search import store_items
from .state import DAILY
from .times import parse_timestamp, whole_seconds

log = logging.getLogger(__name__)


@dataclass
class RepoCheck:
    """One repo's line in daily's report: GitHub's count, ours after settling, items fetched again, and what
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


def repos_least_recently_checked(ctx: JobContext) -> list[str]:
    """So a run cut short by the time limit is continued by the next one where it stopped."""
    last_done = {repo: DAILY.of(repo).value(ctx.session) or datetime.min for repo in ctx.repos}
    return sorted(last_done, key=lambda name: (last_done[name], name))


def _created_in(ctx: JobContext, model, repo: str, window: Window):
    """Rows of `model` for one repo of the org created within the window."""
    return (
        model.org == ctx.settings.org,
        model.repo == repo,
        model.created_at.between(parse_timestamp(window.start), parse_timestamp(window.end)),
    )


def stored_counts(ctx: JobContext, repo: str, window: Window) -> tuple[int, int]:
    """Items and merged PRs we hold for a repo created within a window."""
    total = sum(
        ctx.session.scalar(select(func.count()).select_from(model).where(*_created_in(ctx, model, repo, window)))
        for model in (Issue, PullRequest)
    )
    merged = ctx.session.scalar(
        select(func.count())
        .select_from(PullRequest)
        .where(*_created_in(ctx, PullRequest, repo, window), PullRequest.merged.is_(True))
    )
    return total, merged


def _stored_rows_in(ctx: JobContext, repo: str, window: Window) -> list[dict]:
    return [
        {"id": row.id, "url": row.url, "model": model}
        for model in (Issue, PullRequest)
        for row in ctx.session.execute(select(model.id, model.url).where(*_created_in(ctx, model, repo, window)))
    ]


def check_repo(ctx: JobContext, repo: str, window: Window) -> tuple[RepoCheck, list[dict]]:
    """Make a repo's stored items in a window match GitHub's; returns the check and the stored items GitHub no
    longer lists there (for the transfers step to ask about). Stops, flagging the report, at the deadline."""
    check, missing = RepoCheck(), []
    check.github = _reconcile_window(ctx, repo, window, check, missing)
    return check, missing


def _reconcile_window(ctx: JobContext, repo: str, window: Window, check: RepoCheck, missing: list[dict]) -> int:
    """Two counts (all items, merged PRs) are compared with ours; equal windows cost nothing more. A window
    that differs is fetched whole when it is small or mostly wrong, else halved and each half compared.
    Returns GitHub's count for the window."""
    if ctx.out_of_time():
        return 0
    query = f"repo:{ctx.settings.org}/{repo}"
    try:
        github_total = ctx.api.search_count(f"{query} {window.qualifier('created')}")
        github_merged = ctx.api.search_count(f"{query} is:pr is:merged {window.qualifier('created')}")
    except IncompleteSearch:
        check.complete = False
        ctx.report.warn(f"daily {repo} {window.qualifier('created')}: GitHub's counts stayed incomplete; not acted on")
        return 0
    stored_total, stored_merged = stored_counts(ctx, repo, window)
    if (github_total, github_merged) == (stored_total, stored_merged):
        return github_total
    differs = abs(github_total - stored_total) + abs(github_merged - stored_merged)
    small = github_total <= 100 or window.seconds < 3600 or differs * 10 >= github_total
    if (not small or github_total > 1000) and window.seconds > 0:
        for half in window.split(2):
            _reconcile_window(ctx, repo, half, check, missing)
        return github_total
    seen: set[int] = set()
    complete = True
    for result in ctx.api.search_windows(query, field="created", window=window):
        seen |= {row["id"] for row in store_items(ctx, result.items)}
        complete = complete and result.complete
    check.fetched += len(seen)
    if complete:
        missing += [row for row in _stored_rows_in(ctx, repo, window) if row["id"] not in seen]
    else:
        check.complete = False
        ctx.report.warn(f"daily {repo} {window.qualifier('created')}: GitHub's results stayed incomplete; not acted on")
    return github_total


def record_check(ctx: JobContext, repo: str, window: Window, check: RepoCheck) -> None:
    """The repo's line in the run's report, and its watermark when it was checked whole (a repo GitHub answered
    incompletely stays first in line for the next run)."""
    check.stored = stored_counts(ctx, repo, window)[0]
    ctx.report.repos[repo] = check
    log.info(
        "daily %s: %d on GitHub, %d stored, %d fetched again, %d removed, %d transferred",
        repo,
        check.github,
        check.stored,
        check.fetched,
        check.removed,
        check.transferred,
    )
    if check.complete:
        DAILY.of(repo).advance(ctx.session, ctx.started)
