"""Every GitHub endpoint the app calls, as a method of one client: search, repos, members, the repo listings,
timeline pages, where an issue URL leads, and pull request reviews. Requests go through `Transport`."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin

from ..times import parse_timestamp, parsed
from .errors import GitHubAPIError, IncompleteSearch
from .pages import ConditionalPages, PageValidator
from .reviews import REVIEW_BATCH, REVIEWS_QUERY, graphql_reviews, unusable
from .transport import MAX_PAGES, PAGE_SIZE, Response, Transport, shown_url
from .walks import CommentsWalk, IssueEventsWalk, last_page
from .windows import SearchWindow, Window

log = logging.getLogger("chalicelib.github")

SEARCH_RESULT_CAP = 1000
# Search serves the first 1,000 results: 10 pages of 100.
MAX_SEARCH_PAGES = SEARCH_RESULT_CAP // PAGE_SIZE
INCOMPLETE_RESULT_RETRIES = 3


@dataclass
class TimelinePage:
    page_no: int
    not_modified: bool
    events: list[dict]
    etag: str | None
    has_next: bool


@dataclass
class IssueLocation:
    """Where an issue's API URL leads now: `present`, `moved` (with the new issue) or `gone`."""

    outcome: str
    new_issue: dict | None = None
    status: int | None = None


class GitHubAPI(Transport):
    """The one GitHub client (see `Transport` for auth, retries, limits and the deadline)."""

    # --- search ---------------------------------------------------------------------------------------------
    def _search(self, params: dict) -> Response:
        """One search request, asked again (with backoff) while GitHub says its results are incomplete."""
        for attempt in range(INCOMPLETE_RESULT_RETRIES + 1):
            response = self.get("/search/issues", params=params)
            if not response.data.get("incomplete_results"):
                return response
            if attempt < INCOMPLETE_RESULT_RETRIES:
                self.stats.add(retries=1)
                self.wait(2.0**attempt, "search results incomplete")
        log.warning("GitHub kept reporting incomplete results for %r (search timed out on its side)", params["q"])
        return response

    def search_count(self, query: str) -> int:
        """How many issues and PRs match, for one search request of a single item."""
        response = self._search({"q": query, "per_page": 1})
        if response.data.get("incomplete_results"):
            raise IncompleteSearch(response.status, shown_url(response.url), f"incomplete results for {query!r}")
        return int(response.data.get("total_count", 0))

    def newest_items(self, query: str, count: int) -> list[dict]:
        """The `count` (at most 100) most recently created issues and PRs matching `query`, newest first."""
        response = self._search({"q": query, "per_page": min(count, PAGE_SIZE), "sort": "created", "order": "desc"})
        return list(response.data.get("items") or [])[:count]

    def search_windows(
        self,
        query: str,
        *,
        field: str,
        window: Window,
        skip: Callable[[Window], bool] | None = None,
        counted: Callable[[Window, int], None] | None = None,
    ) -> Iterator[SearchWindow]:
        """Every issue and PR matching `query` with `field` in the window, one `SearchWindow` per window that
        fits under the result cap.

        GitHub serves only the first 1,000 results of a search, so a window holding more is cut into smaller
        windows (down to one second) until each fits. `skip` lets a caller pass over windows it already holds
        (a resumed backfill) without asking GitHub; `counted` is told GitHub's count for each window asked.
        """
        pending = [window]
        while pending:
            current = pending.pop(0)
            if skip is not None and skip(current):
                continue
            q = f"{query} {current.qualifier(field)}".strip()
            first = self._search({"q": q, "per_page": PAGE_SIZE, "sort": field, "order": "asc"})
            total = int(first.data.get("total_count", 0))
            if counted is not None:
                counted(current, total)
            if total > SEARCH_RESULT_CAP and current.seconds > 0:
                parts = math.ceil(total / (SEARCH_RESULT_CAP * 0.9))
                log.info("search %r matched %d > %d: splitting into %d windows", q, total, SEARCH_RESULT_CAP, parts)
                pending[0:0] = current.split(parts)
                continue
            if total > SEARCH_RESULT_CAP:
                log.warning(
                    "search %r matched %d within one second; GitHub serves only %d", q, total, SEARCH_RESULT_CAP
                )
            items = [item for page in self.pages(first, MAX_SEARCH_PAGES) for item in page.data.get("items") or []]
            yield SearchWindow(current, items, complete=not first.data.get("incomplete_results"))

    # --- the org ----------------------------------------------------------------------------------------------
    def org_repo_pages(self, org: str, known: dict[str, PageValidator] | None = None) -> ConditionalPages:
        """Every repository of the org the token can see (archived ones included), page by page, asked with the
        validators `known` holds: an unchanged page answers 304 (not counted) and gives back each repo's name
        and whether it is archived, kept from when it was read."""
        return ConditionalPages(
            self,
            f"/orgs/{org}/repos",
            {"type": "all"},
            dict(known or {}),
            replays=lambda repo: {"name": repo["name"], "archived": bool(repo.get("archived"))},
        )

    def list_repos(self, org: str) -> list[str]:
        """Names of the org's repositories that are not archived."""
        return [repo["name"] for page in self.org_repo_pages(org) for repo in page.entries if not repo.get("archived")]

    def repo(self, org: str, name: str) -> dict:
        """One repository; a GitHubAPIError with status 404 when it does not exist or the token cannot see it."""
        return self.get(f"/repos/{org}/{name}").data

    def list_members(self, org: str) -> list[dict]:
        """The org's members (all of them with a token that can read the org; only public ones without)."""
        return list(self.paginate(f"/orgs/{org}/members"))

    # --- a repo's listings --------------------------------------------------------------------------------------
    def repo_issue_events(
        self, org: str, repo: str, since: datetime, known: dict[str, PageValidator] | None = None
    ) -> IssueEventsWalk:
        """Every issue event of the repo (labels, assignments, closes, merges...; not comments, reviews,
        cross-references or commits) from `since` on, with what the walk proved (see `IssueEventsWalk`); pages
        `known` holds are asked conditionally."""
        return IssueEventsWalk(self, f"/repos/{org}/{repo}/issues/events", since, known)

    def repo_comments(
        self, org: str, repo: str, since: datetime, known: dict[str, PageValidator] | None = None
    ) -> CommentsWalk:
        """Every comment on the repo's issues and PRs created or edited since `since`, oldest change first."""
        return CommentsWalk(self, f"/repos/{org}/{repo}/issues/comments", since, known)

    def listing_pages(self, org: str, repo: str, since: datetime) -> int:
        """About how many pages the repo's two listings hold from `since`, from two requests: the comments
        listing's exactly (its `rel="last"` page), the issue events' from the time its first page spans (that
        listing takes no `since`; its `rel="last"` caps the guess)."""
        params = {"per_page": PAGE_SIZE, **CommentsWalk.params(since)}
        comments = self.get(f"/repos/{org}/{repo}/issues/comments", params=params)
        events = self.get(f"/repos/{org}/{repo}/issues/events", params={"per_page": PAGE_SIZE})
        stamps = [parsed(e.get("created_at")) for e in events.data or [] if isinstance(e, dict)]
        stamps = [stamp for stamp in stamps if stamp is not None]
        event_pages = 1
        if events.next_url and stamps and min(stamps) > since:
            spanned = max(1.0, (max(stamps) - min(stamps)).total_seconds())
            event_pages = math.ceil((max(stamps) - since).total_seconds() / spanned)
            event_pages = min(event_pages, last_page(events) or event_pages)
        return (last_page(comments) or 1) + event_pages

    # --- one item -----------------------------------------------------------------------------------------------
    def timeline_page(self, timeline_url: str, page_no: int, etag: str | None = None) -> TimelinePage:
        """One page of an item's timeline, asked with the ETag remembered for that page."""
        if page_no > MAX_PAGES:
            raise GitHubAPIError(None, shown_url(timeline_url), f"a timeline of more than {MAX_PAGES} pages")
        response = self.get(timeline_url, params={"per_page": PAGE_SIZE, "page": page_no}, etag=etag)
        if response.not_modified:
            return TimelinePage(page_no, True, [], etag, False)
        return TimelinePage(page_no, False, list(response.data or []), response.etag, bool(response.next_url))

    def issue_location(self, issue_url: str) -> IssueLocation:
        """Where an issue URL leads, read without following redirects: a 301 is how GitHub says it moved."""
        response = self.get(issue_url, allow_redirects=False, ok_statuses=frozenset({301, 404, 410}))
        if response.status in (404, 410):
            return IssueLocation("gone", status=response.status)
        if response.status == 301:
            location = response.headers.get("Location") or (response.data or {}).get("url")
            if not location:
                raise GitHubAPIError(301, shown_url(issue_url), "moved, but GitHub gave no Location")
            new_issue = self.get(urljoin(issue_url, location)).data
            return IssueLocation("moved", new_issue=new_issue, status=301)
        return IssueLocation("present", status=response.status)

    # --- reviews --------------------------------------------------------------------------------------------------
    def pull_reviews(
        self, pulls: list[dict], via: str = "graphql", warn: Callable[[str], None] = log.warning
    ) -> Iterator[tuple[dict, list[dict] | None]]:
        """Each PR with its reviews as the timeline's `reviewed` events (None: they could not be read, and `warn`
        is told why), for rows with `id`, `node_id`, `org`, `repo` and `number`; read one query (or one PR) at a
        time as the caller consumes them, so memory does not grow with the number of PRs.

        REST lists reviews only per PR; GraphQL reads fifty PRs' in one query, on its own budget. `via="rest"`
        keeps the REST path (GitHub Enterprise Server versions or tokens without GraphQL). A PR GraphQL could not
        answer whole (an error at its node, more than 100 reviews, a node of another shape) is read by REST."""
        if via == "rest":
            for pull in pulls:
                yield pull, self._rest_reviews(pull, warn)
            return
        for start in range(0, len(pulls), REVIEW_BATCH):
            batch = pulls[start : start + REVIEW_BATCH]
            result = self.graphql(REVIEWS_QUERY, {"ids": [pull["node_id"] for pull in batch]})
            failed = result.failed("nodes")
            for message in result.unplaced():
                warn(f"GraphQL reviews query: {message}")
            nodes = result.data.get("nodes")
            nodes = nodes if isinstance(nodes, list) else []
            for index, pull in enumerate(batch):
                node = nodes[index] if index < len(nodes) and index not in failed else None
                reviews = graphql_reviews(node, pull["node_id"])
                if reviews is None:
                    why = failed.get(index) or unusable(node, pull["node_id"])
                    if why != "more than 100 reviews":
                        warn(f"GraphQL could not give the reviews of {_pull_name(pull)} ({why}): read by REST")
                    reviews = self._rest_reviews(pull, warn)
                yield pull, reviews

    def _rest_reviews(self, pull: dict, warn: Callable[[str], None]) -> list[dict] | None:
        try:
            reviews = list(self.paginate(f"/repos/{pull['org']}/{pull['repo']}/pulls/{pull['number']}/reviews"))
        except GitHubAPIError as error:
            warn(f"reviews of {_pull_name(pull)} could not be read ({error}): left for its timeline")
            return None
        return [{**review, "state": (review.get("state") or "").lower(), "event": "reviewed"} for review in reviews]

    # --- webhooks -------------------------------------------------------------------------------------------------
    @staticmethod
    def hook_path(org: str, hook_id: str | None = None) -> str:
        """The App's own webhook (asked with the App's JWT), or the org webhook `hook_id` (with a token)."""
        return f"/orgs/{org}/hooks/{hook_id}" if hook_id else "/app/hook"

    def failed_hook_deliveries(self, hook: str, since: datetime) -> list[dict]:
        """The hook's failed deliveries since `since`, newest first (GitHub lists them so; the walk stops there)."""
        found = []
        for delivery in self.paginate(f"{hook}/deliveries", {"status": "failure", "per_page": PAGE_SIZE}):
            if parse_timestamp(delivery["delivered_at"]) < since:
                break
            found.append(delivery)
        return found

    def redeliver(self, hook: str, delivery_id: int) -> None:
        self.request("POST", f"{hook}/deliveries/{delivery_id}/attempts")


def _pull_name(pull: dict) -> str:
    return f"{pull.get('org')}/{pull.get('repo')}#{pull.get('number')}"
