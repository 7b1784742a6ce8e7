"""The search-and-store step every item-fetching job shares: repo queries under GitHub's length limit, then
each window's issues and pull requests stored in one transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from .context import JobContext
from .entities import ISSUES, PULL_REQUESTS, entity_for_item, org_and_repo, store
from .github import Window, whole_seconds
from .store import committed

MAX_QUERY_LENGTH = 256
# `created:2024-01-01T00:00:00Z..2024-01-02T00:00:00Z` plus its separating space.
DATE_QUALIFIER_LENGTH = 51


def repo_queries(ctx: JobContext, qualifiers: str = "") -> list[str]:
    """As few search queries as cover the repos: `org:` for all of them, else `repo:` qualifiers packed
    into queries that stay under GitHub's 256-character limit once a date range is added."""
    settings = ctx.settings
    if settings.all_repos:
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
        entity = entity_for_item(item)
        by_entity[entity].append(entity.to_row(item))
    with committed(ctx.session):
        for entity, rows in by_entity.items():
            if rows:
                store(ctx, entity, rows)
    return [row for rows in by_entity.values() for row in rows]


def search_and_store(ctx: JobContext, qualifiers: str, field: str, since: datetime) -> list[dict]:
    """Run the search over every repo query up to the run's start, committing window by window."""
    stored = []
    window = Window(whole_seconds(since), whole_seconds(ctx.started))
    for query in repo_queries(ctx, qualifiers):
        for _, items in ctx.api.search_windows(query, field=field, window=window):
            stored += store_items(ctx, items)
    return stored
