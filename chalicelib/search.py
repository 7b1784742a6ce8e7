"""The search-and-store step every item-fetching job shares: repo queries under GitHub's length limit, then
each window's issues and pull requests stored in one transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .context import JobContext
from .entities import ISSUES, PULL_REQUESTS, entity_for_item, org_and_repo
from .github import Window
from .load import put, rows_of, unit
from .state import Cursor
from .times import whole_seconds

MAX_QUERY_LENGTH = 256
# GitHub searches at most this many repositories for one `org:` query; past it, results are silently cut.
ORG_SEARCH_REPO_LIMIT = 4000
# `created:2024-01-01T00:00:00Z..2024-01-02T00:00:00Z` plus its separating space.
DATE_QUALIFIER_LENGTH = 51


@dataclass
class Searched:
    """The rows a search stored; `complete` when every window was answered whole before the deadline."""

    rows: list[dict] = field(default_factory=list)
    complete: bool = True
    since: datetime | None = None


def repo_queries(ctx: JobContext, qualifiers: str = "") -> list[str]:
    """As few search queries as cover the repos: `org:` for all of them (while the org has no more repos than one
    `org:` query searches), else `repo:` qualifiers packed into queries that stay under GitHub's 256-character
    limit once a date range is added."""
    settings = ctx.settings
    if settings.all_repos and len(ctx.repos) <= ORG_SEARCH_REPO_LIMIT:
        return [f"org:{settings.org} {qualifiers}".strip()]
    budget = MAX_QUERY_LENGTH - DATE_QUALIFIER_LENGTH - len(qualifiers) - 1
    queries, current = [], ""
    for repo in ctx.repos:
        term = f"repo:{settings.org}/{repo}"
        if current and len(current) + 1 + len(term) > budget:
            queries.append(current)
            current = ""
        current = f"{current} {term}".strip()
    if current:
        queries.append(current)
    return [f"{q} {qualifiers}".strip() for q in queries]


def store_items(ctx: JobContext, items: Iterable[dict]) -> list[dict]:
    """Upsert search items into issues or pull_requests in one transaction; returns their rows.

    An `org:` query also finds archived repos' items: only the tracked repos' are kept."""
    wanted = set(ctx.repos) if ctx.settings.all_repos else None
    by_entity: dict = {ISSUES: [], PULL_REQUESTS: []}
    for item in items:
        if wanted is not None and org_and_repo(item.get("repository_url"))[1] not in wanted:
            continue
        by_entity[entity_for_item(item)].append(item)
    stored = {entity: rows_of(ctx, entity, payloads) for entity, payloads in by_entity.items()}
    with unit(ctx):
        for entity, rows in stored.items():
            put(ctx, entity, rows)
    return [row for rows in stored.values() for row in rows]


def progress_cursor(progress: Cursor, field: str, query: str) -> Cursor:
    """The cursor of one search's progress in the family `progress` (queries are too long to be names)."""
    return progress.of(hashlib.sha1(f"{field} {query}".encode()).hexdigest()[:20])


def search_and_store(
    ctx: JobContext, qualifiers: str, field: str, since: datetime, progress: Cursor | None = None
) -> Searched:
    """Run the search over every repo query up to the run's start, committing window by window.

    With a `progress` cursor family, the end of each window stored whole is kept (per query), so a run stopped by the
    deadline is continued from there by the next. A window GitHub answered incompletely is stored but not
    passed: the search is not complete, and its progress stays before it. The deadline is checked between
    windows.
    """
    searched = Searched(since=whole_seconds(since))
    end = whole_seconds(ctx.started)
    for query in repo_queries(ctx, qualifiers):
        cursor = progress_cursor(progress, field, query) if progress else None
        done = cursor.value(ctx.session) if cursor else None
        start = whole_seconds(since)
        if done is not None:
            start = max(start, done.replace(tzinfo=UTC) + timedelta(seconds=1))
        if start > end:
            continue
        for result in ctx.api.search_windows(query, field=field, window=Window(start, end)):
            searched.rows += store_items(ctx, result.items)
            if not result.complete:
                searched.complete, cursor = False, None
                ctx.report.warn(f"GitHub's results for {query} {result.window.qualifier(field)} stayed incomplete")
            elif cursor:
                cursor.advance(ctx.session, result.window.end)
            if ctx.out_of_time():
                searched.complete = False
                return searched
    return searched
