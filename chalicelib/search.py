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


@dataclass(frozen=True)
class Scope:
    """One search query's repo terms and the tracked repos whose items it finds: `org:` (with `archived:false`
    and `-repo:` exclusions where they apply) or packed `repo:` qualifiers."""

    terms: str
    repos: tuple[str, ...]

    def query(self, qualifiers: str = "") -> str:
        return f"{self.terms} {qualifiers}".strip()

    @property
    def label(self) -> str:
        """How a report names it: the repo when it is one, else its terms."""
        return self.repos[0] if len(self.repos) == 1 else self.terms


def search_scopes(ctx: JobContext, qualifiers: str = "", repos: Iterable[str] | None = None) -> list[Scope]:
    """As few scopes as cover the tracked repos (in the order of `repos`, default the run's): one `org:` query
    when it finds just them (`org_scope`), else `repo:` qualifiers packed into queries that stay under GitHub's
    256-character limit once `qualifiers` and a date range are added."""
    budget = MAX_QUERY_LENGTH - DATE_QUALIFIER_LENGTH - len(qualifiers) - 1
    org_wide = org_scope(ctx, budget)
    if org_wide is not None:
        return [org_wide]
    org = ctx.settings.org
    scopes, terms, members = [], "", []
    for repo in repos or ctx.repos:
        term = f"repo:{org}/{repo}"
        if terms and len(terms) + 1 + len(term) > budget:
            scopes.append(Scope(terms, tuple(members)))
            terms, members = "", []
        terms, members = f"{terms} {term}".strip(), [*members, repo]
    if terms:
        scopes.append(Scope(terms, tuple(members)))
    return scopes


def org_scope(ctx: JobContext, budget: int) -> Scope | None:
    """One `org:` query for the tracked repos, when the org has no more repos than such a query searches and
    its other repos are archived (left out by `archived:false`) or few enough to name with `-repo:` within
    `budget` characters; else None. Without the org's listing (a run given its repos), only `*` qualifies."""
    listing = ctx.org_repos
    if listing is None and ctx.settings.all_repos:
        listing = dict.fromkeys(ctx.repos, False)
    if not listing or len(listing) > ORG_SEARCH_REPO_LIMIT:
        return None
    org, tracked = ctx.settings.org, {repo.lower() for repo in ctx.repos}
    untracked = [name for name in listing if name.lower() not in tracked]
    terms = [f"org:{org}"]
    if not any(listing.get(repo, False) for repo in ctx.repos):
        terms.append("archived:false")
        untracked = [name for name in untracked if not listing[name]]
    terms += [f"-repo:{org}/{name}" for name in untracked]
    text = " ".join(terms)
    return Scope(text, tuple(ctx.repos)) if len(text) <= budget else None


def repo_queries(ctx: JobContext, qualifiers: str = "") -> list[str]:
    """The search queries, with `qualifiers`, that cover the tracked repos (see `search_scopes`)."""
    return [scope.query(qualifiers) for scope in search_scopes(ctx, qualifiers)]


def store_items(ctx: JobContext, items: Iterable[dict]) -> list[dict]:
    """Upsert search items into issues or pull_requests in one transaction; returns their rows.

    Only the tracked repos' items are kept (GitHub's names ignore case): a search finds no others, but a repo
    renamed or archived since the run listed them may still answer."""
    wanted = {repo.lower() for repo in ctx.repos}
    by_entity: dict = {ISSUES: [], PULL_REQUESTS: []}
    for item in items:
        if (org_and_repo(item.get("repository_url"))[1] or "").lower() not in wanted:
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
