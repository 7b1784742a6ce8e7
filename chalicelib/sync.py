"""Issues, pull requests and members: the searches the jobs run and how their results are stored."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Iterable, Iterator

from sqlalchemy import func, select, update

from .context import JobContext
from .entities import ISSUES, MEMBERS, PULL_REQUESTS, entity_for_item, org_and_repo, parse_timestamp
from .github import Window, whole_seconds
from .models import Issue, Member, PullRequest, SyncState
from .store import committed
from .transfers import reconcile_transfers, settle_missing

log = logging.getLogger(__name__)

MAX_QUERY_LENGTH = 256
# `created:2024-01-01T00:00:00Z..2024-01-02T00:00:00Z` plus its separating space.
DATE_QUALIFIER_LENGTH = 51


def tracked_repos(ctx: JobContext) -> list[str]:
    """The repos to sync: the configured list, or every non-archived repo of the org for `*` (asked once)."""
    if ctx.repos is None:
        settings = ctx.settings
        ctx.repos = ctx.api.list_repos(settings.org) if settings.all_repos else list(settings.repos)
    return ctx.repos


def repo_queries(ctx: JobContext, qualifiers: str = "") -> list[str]:
    """As few search queries as cover the repos: `org:` for all of them, else `repo:` qualifiers packed
    into queries that stay under GitHub's 256-character limit once a date range is added."""
    settings = ctx.settings
    if settings.all_repos:
        return [f"org:{settings.org} {qualifiers}".strip()]
    budget = MAX_QUERY_LENGTH - DATE_QUALIFIER_LENGTH - len(qualifiers) - 1
    queries, current = [], ""
    for repo in tracked_repos(ctx):
        term = f"repo:{settings.org}/{repo}"
        if current and len(current) + 1 + len(term) > budget:
            queries.append(current)
            current = ""
        current = f"{current} {term}".strip()
    if current:
        queries.append(current)
    return [f"{q} {qualifiers}".strip() for q in queries]


def store_items(ctx: JobContext, items: Iterable[dict]) -> list[dict]:
    """Upsert search items into issues or pull_requests in one transaction; returns their rows."""
    wanted = None if not ctx.settings.all_repos else set(tracked_repos(ctx))
    by_entity: dict = {ISSUES: [], PULL_REQUESTS: []}
    for item in items:
        if wanted is not None and org_and_repo(item.get("repository_url"))[1] not in wanted:
            continue
        entity = entity_for_item(item)
        by_entity[entity].append(entity.to_row(item))
    with committed(ctx.session) as session:
        for entity, rows in by_entity.items():
            if rows:
                ctx.report.add(entity.name, entity.upsert(session, rows))
    return [row for rows in by_entity.values() for row in rows]


def search_and_store(ctx: JobContext, qualifiers: str, field: str, since: datetime) -> list[dict]:
    """Run the search over every repo query up to the run's start, committing window by window."""
    stored = []
    window = Window(whole_seconds(since), whole_seconds(ctx.started))
    for query in repo_queries(ctx, qualifiers):
        for _, items in ctx.api.search_windows(query, field=field, window=window):
            stored += store_items(ctx, items)
    return stored


def get_watermark(ctx: JobContext, name: str) -> datetime | None:
    state = ctx.session.get(SyncState, name)
    return state.value if state else None


def set_watermark(ctx: JobContext, name: str, value: datetime) -> None:
    state = ctx.session.get(SyncState, name) or SyncState(name=name)
    state.value = parse_timestamp(value)
    ctx.session.add(state)
    ctx.session.commit()


def sync_recent(ctx: JobContext) -> None:
    """New items (5 days), recently closed (1 week) and closed PRs (52 weeks), at the price of one query.

    The first run asks the original design's windows. Every later run asks only for what was updated since
    the last successful one (less an overlap for search indexing lag): an item can only enter those windows
    by being created or closed, both of which update it, so nothing is missed and nothing is asked twice.
    The watermark moves only after everything is stored, so a failed run is simply repeated.
    """
    settings, started = ctx.settings, ctx.started
    watermark = get_watermark(ctx, "every_30_min")
    if watermark is None:
        searches = [("", "created", started - settings.new_items_window),
                    ("is:issue", "closed", started - settings.recently_closed_window),
                    ("is:pr", "closed", started - max(settings.unmerged_window, settings.recently_closed_window))]
    else:
        since = watermark.replace(tzinfo=started.tzinfo) - settings.sync_overlap
        searches = [("", "updated", since)]
    for qualifiers, field, since in searches:
        search_and_store(ctx, qualifiers, field, since)
    set_watermark(ctx, "every_30_min", started)


def sync_members(ctx: JobContext) -> None:
    """Store the org's members; mark those no longer listed inactive (never delete); reactivate returners."""
    payloads = list(ctx.api.paginate(MEMBERS.source.format(org=ctx.settings.org)))
    with committed(ctx.session) as session:
        ctx.report.add(MEMBERS.name, MEMBERS.upsert(session, [MEMBERS.to_row(p) for p in payloads]))
        active = session.scalar(select(func.count()).select_from(Member).where(Member.inactive.is_not(True)))
        if not payloads and active:
            ctx.report.warnings.append("GitHub listed no org members: kept everyone active (check the token's "
                                       "org access: without it GitHub lists only public members)")
        else:
            result = session.execute(
                update(Member)
                .where(Member.id.not_in([p["id"] for p in payloads]), Member.inactive.is_not(True))
                .values(inactive=True, inactive_dt=parse_timestamp(ctx.started), row_hash=None))
            ctx.report.deactivated += result.rowcount


def every_30_min(ctx: JobContext) -> None:
    sync_recent(ctx)
    sync_members(ctx)
    reconcile_transfers(ctx)


def _created_in(ctx: JobContext, model, repo: str, window: Window):
    """Rows of `model` for one repo of the org created within the window."""
    return (model.org == ctx.settings.org, model.repo == repo,
            model.created_at.between(parse_timestamp(window.start), parse_timestamp(window.end)))


def _stored_counts(ctx: JobContext, repo: str, window: Window) -> tuple[int, int]:
    """Items and merged PRs we hold for a repo created within a window."""
    total = sum(ctx.session.scalar(select(func.count()).select_from(model).where(
        *_created_in(ctx, model, repo, window))) for model in (Issue, PullRequest))
    merged = ctx.session.scalar(select(func.count()).select_from(PullRequest).where(
        *_created_in(ctx, PullRequest, repo, window), PullRequest.merged.is_(True)))
    return total, merged


def _stored_rows_in(ctx: JobContext, repo: str, window: Window) -> Iterator[dict]:
    for model in (Issue, PullRequest):
        rows = ctx.session.execute(select(model.id, model.url).where(*_created_in(ctx, model, repo, window))).all()
        for row in rows:
            yield {"id": row.id, "url": row.url, "model": model}


def reconcile_repo_window(ctx: JobContext, repo: str, window: Window, tally: dict) -> int | None:
    """Make a repo's stored items in a window match GitHub's, asking as little as possible.

    Two counts (all items, merged PRs) are compared with ours; equal windows cost nothing more. A window
    that differs is fetched whole when it is small or mostly wrong, else halved and each half compared.
    """
    if ctx.deadline.passed:
        ctx.report.stopped_early = True
        return None
    query = f"repo:{ctx.settings.org}/{repo}"
    github_total = ctx.api.search_count(f"{query} {window.qualifier('created')}")
    github_merged = ctx.api.search_count(f"{query} is:pr is:merged {window.qualifier('created')}")
    stored_total, stored_merged = _stored_counts(ctx, repo, window)
    if (github_total, github_merged) == (stored_total, stored_merged):
        return github_total
    differs = abs(github_total - stored_total) + abs(github_merged - stored_merged)
    small = github_total <= 100 or window.seconds < 3600 or differs * 10 >= github_total
    if (not small or github_total > 1000) and window.seconds > 0:
        for half in window.split(2):
            reconcile_repo_window(ctx, repo, half, tally)
        return github_total
    seen: set[int] = set()
    for _, items in ctx.api.search_windows(query, field="created", window=window):
        seen |= {row["id"] for row in store_items(ctx, items)}
    tally["fetched"] += len(seen)
    missing = [row for row in _stored_rows_in(ctx, repo, window) if row["id"] not in seen]
    settle_missing(ctx, missing)
    return github_total


def daily(ctx: JobContext) -> None:
    """Per repo, since the configured start: merged state and completeness checked against GitHub.

    Repos go least recently reconciled first, so a run cut short by the time limit is continued by the next.
    Items created in the last hour are left to every_30_min (search indexes new items with a lag).
    """
    window = Window(whole_seconds(ctx.settings.reconcile_since), whole_seconds(ctx.started - timedelta(hours=1)))
    last_done = {repo: get_watermark(ctx, f"daily:{repo}") or datetime.min for repo in tracked_repos(ctx)}
    for repo in sorted(last_done, key=lambda name: (last_done[name], name)):
        tally = {"fetched": 0}
        removed_before, transferred_before = ctx.report.removed, ctx.report.transferred
        github_total = reconcile_repo_window(ctx, repo, window, tally)
        if ctx.report.stopped_early:
            break
        ctx.report.repos[repo] = {
            "github": github_total, "stored": _stored_counts(ctx, repo, window)[0], "fetched": tally["fetched"],
            "removed": ctx.report.removed - removed_before,
            "transferred": ctx.report.transferred - transferred_before,
        }
        log.info("daily %s: %s", repo, ctx.report.repos[repo])
        set_watermark(ctx, f"daily:{repo}", ctx.started)
    reconcile_transfers(ctx)
