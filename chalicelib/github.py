"""The one GitHub REST client: auth, retries, pagination, rate limits, conditional requests, search windows.

Every GitHub endpoint the app calls is a method here: `GitHubAPI` (search, repos, members), `TimelineAPI`
(timeline pages) and `TransferAPI` (where an issue URL leads). The latter two wrap one shared `GitHubAPI` (so
they share its rate-limit state and counters) and add only what their calls mean; everything goes through
`GitHubAPI.get`.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import requests

log = logging.getLogger(__name__)

API_VERSION = "2022-11-28"
SEARCH_RESULT_CAP = 1000
PAGE_SIZE = 100
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
SECONDARY_LIMIT_DEFAULT_WAIT = 60.0
RESET_MARGIN_SECONDS = 1.0
# No GitHub answer the app asks for comes near this; a larger one is a misbehaving server, not data.
MAX_BODY_BYTES = 32 * 1024 * 1024
# A list endpoint at 100 per page: 100,000 members, repos or timeline events before we call it a loop.
MAX_PAGES = 1000
# Search serves the first 1,000 results: 10 pages of 100.
MAX_SEARCH_PAGES = SEARCH_RESULT_CAP // PAGE_SIZE
INCOMPLETE_RESULT_RETRIES = 3


class GitHubAPIError(RuntimeError):
    """GitHub answered with an error we do not retry (or retries ran out); carries status, URL and message."""

    def __init__(self, status: int | None, url: str, message: str):
        self.status = status
        self.url = url
        self.message = message
        where = f"GitHub answered {status}" if status else "GitHub could not be reached"
        super().__init__(f"{where} for {url}: {message}")


class ForeignURL(GitHubAPIError):
    """A URL from GitHub's answers (a `Link`, a redirect, a payload field) that is not on the configured API."""


class OutOfTime(RuntimeError):
    """A wait GitHub asked for (rate-limit reset, retry-after, backoff) would end after the run's deadline."""


class IncompleteSearch(GitHubAPIError):
    """Search kept answering `incomplete_results: true` (it timed out on GitHub's side): its count is unknown."""


@dataclass
class RequestStats:
    """Requests by kind for a run summary; 304s are counted apart because GitHub does not charge them."""

    search: int = 0
    core: int = 0
    graphql: int = 0
    graphql_points: int = 0
    not_modified: int = 0
    retries: int = 0
    rate_limit_waits: int = 0
    waited_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: float) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, float]:
        return {
            "search": self.search,
            "core": self.core,
            "graphql": self.graphql,
            "graphql_points": self.graphql_points,
            "not_modified": self.not_modified,
            "retries": self.retries,
            "rate_limit_waits": self.rate_limit_waits,
            "waited_seconds": round(self.waited_seconds, 1),
        }

    def summary(self) -> str:
        return (
            f"requests: {self.search} search, {self.core} core, {self.not_modified} not-modified (304)"
            + (f", {self.retries} retries" if self.retries else "")
            + (f", waited {self.waited_seconds:.0f}s for rate limits" if self.rate_limit_waits else "")
        )


@dataclass
class Response:
    status: int
    url: str
    data: Any
    headers: requests.structures.CaseInsensitiveDict
    links: dict[str, dict[str, str]]

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str | None:
        return self.headers.get("ETag")

    @property
    def next_url(self) -> str | None:
        return self.links.get("next", {}).get("url")


@dataclass(frozen=True)
class Window:
    """An inclusive range of whole seconds, the unit GitHub's date qualifiers understand."""

    start: datetime
    end: datetime

    def qualifier(self, field_name: str) -> str:
        return f"{field_name}:{_iso(self.start)}..{_iso(self.end)}"

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())

    def split(self, parts: int) -> list[Window]:
        """Cut into up to `parts` adjacent windows that share no second and together cover this one."""
        parts = max(2, min(parts, self.seconds + 1))
        step = (self.seconds + 1) / parts
        bounds = [self.start + timedelta(seconds=round(step * i)) for i in range(parts)] + [
            self.end + timedelta(seconds=1)
        ]
        return [Window(lo, hi - timedelta(seconds=1)) for lo, hi in itertools.pairwise(bounds) if hi > lo]


@dataclass
class SearchWindow:
    """The items of one window that fits under the result cap; `complete` is False when GitHub kept saying its
    results were incomplete, so nothing may be concluded from what is missing."""

    window: Window
    items: list[dict]
    complete: bool = True


# GitHub's words when a whole GraphQL query timed out or broke on its side: asking again may work.
_TRANSIENT_GRAPHQL = re.compile(r"timeout|timed out|something went wrong|try again", re.IGNORECASE)


@dataclass
class GraphQLResult:
    """A GraphQL answer: the `data` GitHub resolved and the `errors` beside it (each with its `path`)."""

    data: dict
    errors: list[dict] = field(default_factory=list)

    def failed(self, field_name: str) -> dict[int, str]:
        """Entries of the list `field_name` that an error concerns (index -> GitHub's message)."""
        found: dict[int, str] = {}
        for error in self.errors:
            index = _entry_of(error)
            if index is not None and error["path"][0] == field_name:
                found.setdefault(index, f"{error.get('type') or 'error'}: {error.get('message', '')}")
        return found

    def unplaced(self) -> list[str]:
        """Messages of errors that name no list entry (the caller warns of them)."""
        return [str(error.get("message", error)) for error in self.errors if _entry_of(error) is None]


def _entry_of(error: dict) -> int | None:
    path = error.get("path")
    return path[1] if isinstance(path, list) and len(path) >= 2 and isinstance(path[1], int) else None


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with default ports spelled out, so `https://h` and `https://h:443` are one origin."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or default


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def whole_seconds(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


class GitHubAPI:
    """A `requests.Session` with GitHub's auth, versioning, rate limits, retries and pagination.

    The token is sent only to the configured API's origin: a URL GitHub's answers point elsewhere (a `Link`, a
    redirect, a payload's URL) is refused. Waits never run past `time_left()` (set by the runner from the
    job's deadline): `OutOfTime` is raised instead, so the job ends as `partial` with its work committed.
    """

    def __init__(
        self,
        base_url: str = "https://api.github.com",
        token: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 5,
        backoff_cap: float = 60.0,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
        pool_size: int = 8,
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_cap = backoff_cap
        self.sleep = sleep or time.sleep
        self.clock = clock or time.time
        self.token = token
        self.stats = RequestStats()
        self.time_left: Callable[[], float] = lambda: float("inf")
        self._origin = origin(self.base_url)
        self._buckets: dict[str, tuple[int, float]] = {}
        self._limits: dict[str, int] = {}
        self._bucket_lock = threading.Lock()
        self.session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers.update(
            {
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "contributor-metrics",
            }
        )
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def url(self, path_or_url: str) -> str:
        """The absolute URL of a path, or the URL itself when it is on the configured API's origin."""
        if not path_or_url.startswith(("http://", "https://")):
            return urljoin(self.base_url + "/", path_or_url.lstrip("/"))
        if origin(path_or_url) != self._origin:
            raise ForeignURL(
                None,
                _shown_url(path_or_url),
                f"not on the configured GitHub API ({self.base_url}): refused, the token is only sent there",
            )
        return path_or_url

    @staticmethod
    def bucket_for(url: str) -> str:
        path = urlsplit(url).path.rstrip("/")
        if path.endswith("/graphql"):
            return "graphql"
        return "search" if path.split("/")[-2:-1] == ["search"] else "core"

    def get(
        self,
        path_or_url: str,
        *,
        params: dict | None = None,
        etag: str | None = None,
        allow_redirects: bool = True,
        ok_statuses: frozenset[int] = frozenset(),
    ) -> Response:
        """GET with every rule of the client; statuses in `ok_statuses` are returned instead of raised.

        Redirects are followed here, not by `requests`, and only within the API's origin."""
        return self.request(
            "GET", path_or_url, params=params, etag=etag, allow_redirects=allow_redirects, ok_statuses=ok_statuses
        )

    def graphql_url(self) -> str:
        """GitHub's GraphQL endpoint beside the REST one: /graphql, or /api/graphql on GitHub Enterprise Server."""
        base = self.base_url
        return base[: -len("/v3")] + "/graphql" if base.endswith("/api/v3") else base + "/graphql"

    def graphql(self, query: str, variables: dict) -> GraphQLResult:
        """One GraphQL query through the same rules (auth, origin, retries, limits, deadline).

        GitHub answers 200 with `errors` beside the `data` it could resolve: those come back together, for the
        caller to keep what resolved. `RATE_LIMITED` is waited out like a 403 (inside the deadline) and a
        failure of the whole query that GitHub calls a timeout is retried with backoff; any other failure of
        the whole query is a GitHubAPIError."""
        attempt = 0
        while True:
            response = self.request("POST", self.graphql_url(), json_body={"query": query, "variables": variables})
            body = response.data if isinstance(response.data, dict) else {}
            errors = [
                error if isinstance(error, dict) else {"message": str(error)} for error in body.get("errors") or []
            ]
            data = body.get("data") if isinstance(body.get("data"), dict) else None
            shown, messages = _shown_url(response.url), "; ".join(str(e.get("message", e)) for e in errors[:3])
            if any(error.get("type") == "RATE_LIMITED" for error in errors):
                if attempt >= self.max_retries:
                    raise GitHubAPIError(200, shown, f"still rate limited after {attempt} waits: {messages}")
                attempt += 1
                self._used_up("graphql")
                continue
            if errors and not data:
                if any(_TRANSIENT_GRAPHQL.search(str(error.get("message", ""))) for error in errors):
                    attempt = self._retry_or_raise(attempt, 200, shown, f"GraphQL: {messages}")
                    continue
                raise GitHubAPIError(200, shown, f"GraphQL: {messages}")
            cost = ((data or {}).get("rateLimit") or {}).get("cost")
            if isinstance(cost, int) and not isinstance(cost, bool):
                self.stats.add(graphql_points=cost)
            return GraphQLResult(data or {}, errors)

    def _used_up(self, bucket: str) -> None:
        """GitHub said the bucket is used up: the next request waits for its reset (by the headers, or a minute
        from now when they do not say)."""
        with self._bucket_lock:
            remaining, reset_at = self._buckets.get(bucket, (1, 0.0))
            if remaining > 0 or reset_at <= self.clock():
                self._buckets[bucket] = (0, self.clock() + SECONDARY_LIMIT_DEFAULT_WAIT)

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: dict | None = None,
        json_body: dict | None = None,
        etag: str | None = None,
        allow_redirects: bool = True,
        ok_statuses: frozenset[int] = frozenset(),
    ) -> Response:
        """Any request with every rule of the client (see `get`)."""
        url = self.url(path_or_url)
        bucket = self.bucket_for(url)
        headers = {"If-None-Match": etag} if etag else None
        attempt = redirects = 0
        while True:
            self._wait_for_bucket(bucket)
            try:
                raw = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                    stream=True,
                )
                body = _read_bounded(raw)
            except (requests.ConnectionError, requests.Timeout) as error:
                why, transient = self._unreachable(url, error)
                if not transient:
                    raise GitHubAPIError(None, _shown_url(url), why) from None
                attempt = self._retry_or_raise(attempt, None, url, why)
                continue
            self._record_limits(raw.headers)
            if raw.status_code == 304:
                self.stats.add(not_modified=1)
            else:
                self.stats.add(**{bucket: 1})
            if body is None:
                raise GitHubAPIError(
                    raw.status_code, _shown_url(url), f"the answer is larger than {MAX_BODY_BYTES} bytes"
                )
            if raw.status_code in REDIRECT_STATUSES and allow_redirects and raw.status_code not in ok_statuses:
                redirects += 1
                if redirects > MAX_REDIRECTS:
                    raise GitHubAPIError(raw.status_code, _shown_url(url), f"more than {MAX_REDIRECTS} redirects")
                url, params = self.url(urljoin(url, raw.headers.get("Location", ""))), None
                continue
            wait = self._secondary_wait(raw)
            if wait is not None:
                attempt = self._retry_after_limit(attempt, raw.status_code, _shown_url(url), wait, _message(raw))
                continue
            if raw.status_code in RETRYABLE_STATUSES:
                attempt = self._retry_or_raise(attempt, raw.status_code, url, _message(raw))
                continue
            if raw.status_code >= 400 and raw.status_code not in ok_statuses:
                raise GitHubAPIError(raw.status_code, _shown_url(raw.url or url), _message(raw))
            data = _json_or_none(raw)
            if data is None and raw.status_code == 200:
                raise GitHubAPIError(
                    200,
                    _shown_url(raw.url or url),
                    "the answer is not JSON: " + (raw.text or "an empty body").strip()[:120],
                )
            return Response(raw.status_code, raw.url or url, data, raw.headers, raw.links)

    def _unreachable(self, url: str, error: Exception) -> tuple[str, bool]:
        """Why the API could not be reached, in a person's words, and whether asking again may help: a name that
        does not resolve, a refused port or a failed TLS handshake will not mend in seconds; a timeout or a
        dropped connection may."""
        parts = urlsplit(url)
        host = parts.hostname or url
        text = str(error)
        if isinstance(error, requests.exceptions.SSLError):
            return f"the TLS handshake with {host} failed (a proxy or a wrong GITHUB_API_URL?): {text[:120]}", False
        if any(
            sign in text
            for sign in (
                "NameResolutionError",
                "Name or service not known",
                "nodename nor servname",
                "Temporary failure in name resolution",
                "getaddrinfo failed",
            )
        ):
            return f"the name {host} does not resolve (DNS): offline, or a wrong GITHUB_API_URL?", False
        if "Connection refused" in text:
            return f"{host}:{origin(url)[2]} refused the connection: a wrong GITHUB_API_URL or port?", False
        if "Network is unreachable" in text or "No route to host" in text:
            return f"no network route to {host}: offline?", False
        if isinstance(error, requests.Timeout):
            return f"{host} did not answer within {self.timeout:.0f}s", True
        return f"the connection to {host} failed ({type(error).__name__})", True

    def wait(self, seconds: float, reason: str) -> None:
        """Sleep as GitHub asked, unless that would cross the run's deadline."""
        left = self.time_left()
        if seconds > left:
            raise OutOfTime(f"{reason}: {seconds:.0f}s to wait but {max(0.0, left):.0f}s left before the deadline")
        self.sleep(seconds)

    def pages(self, first: Response, limit: int = MAX_PAGES) -> Iterator[Response]:
        """`first` and every page after it by `Link: rel="next"`; a chain that loops or runs past `limit` is an
        error, not endless requests."""
        response, seen = first, {first.url}
        yield response
        while response.next_url:
            if response.next_url in seen or len(seen) >= limit:
                why = "loops back to a page already read" if response.next_url in seen else f"exceeds {limit} pages"
                raise GitHubAPIError(response.status, _shown_url(response.url), f"the Link: next chain {why}")
            seen.add(response.next_url)
            response = self.get(response.next_url)
            yield response

    def paginate(self, path_or_url: str, params: dict | None = None) -> Iterator[dict]:
        """Every item of a list endpoint, following `Link: rel="next"` until there is none."""
        for response in self.pages(self.get(path_or_url, params={"per_page": PAGE_SIZE, **(params or {})})):
            yield from response.data or []

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
            raise IncompleteSearch(response.status, _shown_url(response.url), f"incomplete results for {query!r}")
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
            params = {"q": q, "per_page": PAGE_SIZE, "sort": field, "order": "asc"}
            first = self._search(params)
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
                    "search %r matched %d items within one second; GitHub serves only %d of them",
                    q,
                    total,
                    SEARCH_RESULT_CAP,
                )
            items = [item for page in self.pages(first, MAX_SEARCH_PAGES) for item in page.data.get("items") or []]
            yield SearchWindow(current, items, complete=not first.data.get("incomplete_results"))

    def org_repos(self, org: str) -> list[dict]:
        """Every repository of the org the token can see, archived ones included."""
        return list(self.paginate(f"/orgs/{org}/repos", {"type": "all"}))

    def list_repos(self, org: str) -> list[str]:
        """Names of the org's repositories that are not archived."""
        return [repo["name"] for repo in self.org_repos(org) if not repo.get("archived")]

    def repo_issue_events(self, org: str, repo: str, since: datetime) -> IssueEventsWalk:
        """Every issue event of the repo (labels, assignments, closes, merges...; not comments, reviews,
        cross-references or commits) from `since` on, with what the walk proved (see `IssueEventsWalk`)."""
        return IssueEventsWalk(self, f"/repos/{org}/{repo}/issues/events", since)

    def repo_comments(self, org: str, repo: str, since: datetime) -> CommentsWalk:
        """Every comment on the repo's issues and PRs created or edited since `since`, oldest change first."""
        return CommentsWalk(self, f"/repos/{org}/{repo}/issues/comments", since)

    def listing_pages(self, org: str, repo: str, since: datetime) -> int:
        """About how many pages the repo's two listings hold from `since`, from two requests: the comments
        listing's exactly (its `rel="last"` page), the issue events' from the time its first page spans (that
        listing takes no `since`; its `rel="last"` caps the guess)."""
        params = {"per_page": PAGE_SIZE, "since": _iso(since), "sort": "updated", "direction": "asc"}
        comments = self.get(f"/repos/{org}/{repo}/issues/comments", params=params)
        events = self.get(f"/repos/{org}/{repo}/issues/events", params={"per_page": PAGE_SIZE})
        stamps = [_parsed(e.get("created_at")) for e in events.data or [] if isinstance(e, dict)]
        stamps = [stamp for stamp in stamps if stamp is not None]
        event_pages = 1
        if events.next_url and stamps and min(stamps) > since:
            spanned = max(1.0, (max(stamps) - min(stamps)).total_seconds())
            event_pages = math.ceil((max(stamps) - since).total_seconds() / spanned)
            event_pages = min(event_pages, _last_page(events) or event_pages)
        return (_last_page(comments) or 1) + event_pages

    def list_members(self, org: str) -> list[dict]:
        """The org's members (all of them with a token that can read the org; only public ones without)."""
        return list(self.paginate(f"/orgs/{org}/members"))

    def repo(self, org: str, name: str) -> dict:
        """One repository; a GitHubAPIError with status 404 when it does not exist or the token cannot see it."""
        return self.get(f"/repos/{org}/{name}").data

    def spare(self, bucket: str, keep_share: float) -> int | None:
        """Requests left in a bucket beyond `keep_share` of its hourly limit, by the last answer's headers;
        None before any answer said."""
        with self._bucket_lock:
            state, limit = self._buckets.get(bucket), self._limits.get(bucket)
        if state is None or limit is None:
            return None
        if state[1] + RESET_MARGIN_SECONDS <= self.clock():
            return int(limit * (1 - keep_share))
        return max(0, state[0] - int(limit * keep_share))

    def _wait_for_bucket(self, bucket: str) -> None:
        with self._bucket_lock:
            remaining, reset_at = self._buckets.get(bucket, (1, 0.0))
        wait = reset_at + RESET_MARGIN_SECONDS - self.clock()
        if remaining <= 0 and wait > 0:
            log.info("GitHub %s rate limit used up: waiting %.0fs for its reset", bucket, wait)
            self.wait(wait, f"GitHub's {bucket} rate limit is used up")
            self.stats.add(rate_limit_waits=1, waited_seconds=wait)

    def _record_limits(self, headers) -> None:
        remaining, reset, resource = (
            headers.get("x-ratelimit-remaining"),
            headers.get("x-ratelimit-reset"),
            headers.get("x-ratelimit-resource"),
        )
        if remaining is None or reset is None:
            return
        try:
            state = (int(remaining), float(reset))
        except ValueError:
            log.warning("ignoring malformed rate-limit headers remaining=%r reset=%r", remaining, reset)
            return
        with self._bucket_lock:
            self._buckets[resource or "core"] = state
            if (headers.get("x-ratelimit-limit") or "").isdigit():
                self._limits[resource or "core"] = int(headers["x-ratelimit-limit"])

    def _secondary_wait(self, raw: requests.Response) -> float | None:
        """Seconds to wait when GitHub says we went too fast (403/429), else None."""
        if raw.status_code not in (403, 429):
            return None
        retry_after = raw.headers.get("retry-after")
        if retry_after is not None:
            try:
                return max(0.0, float(retry_after))
            except ValueError:
                return SECONDARY_LIMIT_DEFAULT_WAIT
        if raw.headers.get("x-ratelimit-remaining") == "0":
            try:
                return max(0.0, float(raw.headers.get("x-ratelimit-reset", "0")) - self.clock()) + RESET_MARGIN_SECONDS
            except ValueError:
                return SECONDARY_LIMIT_DEFAULT_WAIT
        if raw.status_code == 429 or "rate limit" in _message(raw).lower():
            return SECONDARY_LIMIT_DEFAULT_WAIT
        return None

    def _retry_after_limit(self, attempt: int, status: int, shown_url: str, wait: float, message: str) -> int:
        if attempt >= self.max_retries:
            raise GitHubAPIError(status, shown_url, f"still rate limited after {attempt} waits: {message}")
        log.warning("GitHub rate limit (%d) on %s: waiting %.0fs as told", status, shown_url, wait)
        self.wait(wait, f"GitHub's rate limit ({status}: {message[:80]})")
        self.stats.add(retries=1, rate_limit_waits=1, waited_seconds=wait)
        return attempt + 1

    def _retry_or_raise(self, attempt: int, status: int | None, url: str, message: str) -> int:
        if attempt >= self.max_retries:
            raise GitHubAPIError(status, _shown_url(url), f"{message} (gave up after {attempt + 1} attempts)")
        delay = min(self.backoff_cap, 2.0**attempt)
        log.warning("GitHub %s on %s: retrying in %.0fs", status or "unreachable", _shown_url(url), delay)
        self.wait(delay, f"retrying {_shown_url(url)} after {status or 'a connection failure'}")
        self.stats.add(retries=1)
        return attempt + 1


def _read_bounded(raw: requests.Response) -> bytes | None:
    """The body, read up to MAX_BODY_BYTES; None (and the connection closed) past that."""
    chunks, size = [], 0
    for chunk in raw.iter_content(chunk_size=65536):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raw.close()
            return None
        chunks.append(chunk)
    raw._content = b"".join(chunks)  # what requests keeps for .json() and .text once a stream is read
    return raw._content


def _json_or_none(raw: requests.Response) -> Any:
    if raw.status_code == 304 or not raw.content:
        return None
    try:
        return raw.json()
    except ValueError:
        return None


def _message(raw: requests.Response) -> str:
    """GitHub's own explanation: its `message`, and the messages of its validation `errors` when it gives them
    (a 422 for a search names the repo or user it cannot search there)."""
    data = _json_or_none(raw)
    if isinstance(data, dict) and data.get("message"):
        details = [e.get("message") for e in data.get("errors") or [] if isinstance(e, dict) and e.get("message")]
        return "; ".join([str(data["message"]), *map(str, details)])
    return (raw.text or raw.reason or "").strip()[:300] or "no message"


MAX_SHOWN_URL = 160


def _shown_url(url: str) -> str:
    """The URL as a person reads it in an error: the query decoded, never a query-string credential, and cut
    short when a long search query would make it a paragraph."""
    parts = urlsplit(url)
    query = "&".join(
        f"{name}={value}" for name, value in parse_qsl(parts.query) if name not in ("per_page", "sort", "order")
    )
    shown = f"{parts.scheme}://{parts.netloc}{parts.path}" + (f"?{query}" if query else "")
    if "token" in parts.query.lower():
        shown = f"{parts.scheme}://{parts.netloc}{parts.path}"
    return shown if len(shown) <= MAX_SHOWN_URL else shown[: MAX_SHOWN_URL - 1] + "…"


class ListingWalk:
    """One walk over a repo-wide listing, iterated once. GitHub may refuse a page (422 "pagination is limited"
    past some depth, 403, 404, 451) or fail it after retries: the walk then ends, `refused` says why, and what
    it yielded before stays good. It also ends, the same way, when the run's time is up (`time_left`), so a
    long walk never runs past the Lambda's. `problem` names anything that keeps the walk from proving it read
    all."""

    def __init__(self, api: GitHubAPI, path: str, since: datetime):
        self.api, self.path, self.since = api, path, since
        self.refused: GitHubAPIError | None = None
        self.problem: str | None = None
        self.pages_read = 0

    def __iter__(self) -> Iterator[dict]:
        try:
            yield from self._walk()
        except GitHubAPIError as error:
            self.refused = error
            self.problem = (
                f"GitHub refused page {self.pages_read + 1} ({error.status or 'unreachable'}: {error.message})"
            )

    def _pages(self, params: dict) -> Iterator[tuple[Response, list]]:
        for response in self.api.pages(self.api.get(self.path, params={"per_page": PAGE_SIZE, **params})):
            if not isinstance(response.data, list):
                raise GitHubAPIError(response.status, _shown_url(response.url), "a listing page that is not a list")
            self.pages_read += 1
            yield response, response.data
            if response.next_url and self.api.time_left() <= 0:
                self.problem = f"stopped after page {self.pages_read} at the run's deadline"
                return

    def _walk(self) -> Iterator[dict]:
        raise NotImplementedError


class IssueEventsWalk(ListingWalk):
    """The issue events listing, newest first; it takes no `since`, so paging stops after the first page that
    reaches before it.

    `proven_from`: every issue event created at or after it was read, or None when nothing is proven. The walk
    proves `since` when it reached before it, or when the listing ended on a page that was not full (its first
    event ever). One that ends early (a full last page without `rel="next"`) or is refused proves only what lies
    after its oldest event; one that meets an event newer than an earlier one proves nothing."""

    proven_from: datetime | None = None

    def _walk(self) -> Iterator[dict]:
        oldest: datetime | None = None
        in_order = True
        for response, events in self._pages({}):
            for event in events:
                created = _parsed(event.get("created_at") if isinstance(event, dict) else None)
                if created is not None:
                    if oldest is not None and created > oldest and in_order:
                        in_order, self.problem = False, f"events out of order on page {self.pages_read}"
                    oldest = created if oldest is None else min(oldest, created)
                if created is None or created >= self.since:
                    yield event
            self.proven_from = self._proof(oldest, in_order)
            if oldest is not None and oldest < self.since:
                self.proven_from = self.since if in_order else None
                return
            if not response.next_url:
                if len(events) < PAGE_SIZE:
                    self.proven_from = self.since if in_order else None
                else:
                    self.problem = self.problem or f"the listing ended on a full page ({self.pages_read}) with no next"
                return

    @staticmethod
    def _proof(oldest: datetime | None, in_order: bool) -> datetime | None:
        """What a walk cut off here proves: every event after its oldest (events of that second may go on)."""
        return oldest + timedelta(seconds=1) if in_order and oldest is not None else None


class CommentsWalk(ListingWalk):
    """The comments listing from `since`, oldest change first; `complete` once it was walked to its end."""

    complete = False

    def _walk(self) -> Iterator[dict]:
        params = {"since": _iso(self.since), "sort": "updated", "direction": "asc"}
        for _response, comments in self._pages(params):
            yield from comments
        self.complete = True


def _last_page(response: Response) -> int | None:
    """The page number `rel="last"` points at, if GitHub gave one."""
    last = response.links.get("last", {}).get("url")
    page = dict(parse_qsl(urlsplit(last).query)).get("page") if last else None
    return int(page) if page and page.isdigit() else None


def _parsed(stamp) -> datetime | None:
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass
class TimelinePage:
    page_no: int
    not_modified: bool
    events: list[dict]
    etag: str | None
    has_next: bool


class TimelineAPI:
    """Timeline pages of one issue, fetched conditionally with the ETag remembered for that page."""

    def __init__(self, api: GitHubAPI):
        self.api = api

    def page(self, timeline_url: str, page_no: int, etag: str | None = None) -> TimelinePage:
        if page_no > MAX_PAGES:
            raise GitHubAPIError(None, _shown_url(timeline_url), f"a timeline of more than {MAX_PAGES} pages")
        response = self.api.get(timeline_url, params={"per_page": PAGE_SIZE, "page": page_no}, etag=etag)
        if response.not_modified:
            return TimelinePage(page_no, True, [], etag, False)
        return TimelinePage(page_no, False, list(response.data or []), response.etag, bool(response.next_url))


@dataclass
class IssueLocation:
    """Where an issue's API URL leads now: `present`, `moved` (with the new issue) or `gone`."""

    outcome: str
    new_issue: dict | None = None
    status: int | None = None


class TransferAPI:
    """Reads an issue URL without following redirects: a 301 is how GitHub says it was transferred."""

    def __init__(self, api: GitHubAPI):
        self.api = api

    def check(self, issue_url: str) -> IssueLocation:
        response = self.api.get(issue_url, allow_redirects=False, ok_statuses=frozenset({301, 404, 410}))
        if response.status in (404, 410):
            return IssueLocation("gone", status=response.status)
        if response.status == 301:
            location = response.headers.get("Location") or (response.data or {}).get("url")
            if not location:
                raise GitHubAPIError(301, _shown_url(issue_url), "moved, but GitHub gave no Location")
            new_issue = self.api.get(urljoin(issue_url, location)).data
            return IssueLocation("moved", new_issue=new_issue, status=301)
        return IssueLocation("present", status=response.status)


REVIEWS_QUERY = """
query($ids: [ID!]!) {
  rateLimit { cost remaining resetAt }
  nodes(ids: $ids) {
    ... on PullRequest {
      id
      url
      reviews(first: 100) {
        pageInfo { hasNextPage }
        nodes {
          id fullDatabaseId body state submittedAt url authorAssociation
          commit { oid }
          author {
            __typename login avatarUrl url
            ... on User { id databaseId isSiteAdmin }
            ... on Bot { id databaseId }
          }
        }
      }
    }
  }
}
"""
# Pull requests per GraphQL query: 50 PRs with up to 100 reviews each costs GitHub about one point.
REVIEW_BATCH = 50


class ReviewsAPI:
    """Reviews of pull requests, each shaped as the timeline's `reviewed` event, so the `events` table cannot tell
    where a row came from.

    REST has no bulk listing of reviews (one request per PR); GraphQL reads fifty PRs' reviews in one query, on
    its own budget. `via="rest"` keeps the REST path (GitHub Enterprise Server versions or tokens without
    GraphQL). A PR GraphQL could not answer whole (an error at its node, more than 100 reviews, a node of
    another shape) is read by REST; one REST cannot read either (gone, refused) comes back as None, and `warn`
    is told why."""

    def __init__(self, api: GitHubAPI, via: str = "graphql", warn: Callable[[str], None] = log.warning):
        self.api = api
        self.via = via
        self.warn = warn

    def of(self, pulls: list[dict]) -> Iterator[tuple[dict, list[dict] | None]]:
        """Each PR with its reviews (None: they could not be read), for rows with `id`, `node_id`, `org`, `repo`
        and `number`; read one query (or one PR) at a time as the caller consumes them, so memory does not grow
        with the number of PRs."""
        if self.via == "rest":
            for pull in pulls:
                yield pull, self._rest_or_none(pull)
            return
        for start in range(0, len(pulls), REVIEW_BATCH):
            batch = pulls[start : start + REVIEW_BATCH]
            result = self.api.graphql(REVIEWS_QUERY, {"ids": [pull["node_id"] for pull in batch]})
            failed = result.failed("nodes")
            for message in result.unplaced():
                self.warn(f"GraphQL reviews query: {message}")
            nodes = result.data.get("nodes")
            nodes = nodes if isinstance(nodes, list) else []
            for index, pull in enumerate(batch):
                node = nodes[index] if index < len(nodes) and index not in failed else None
                reviews = graphql_reviews(node, pull["node_id"])
                if reviews is None:
                    if index in failed:
                        self.warn(f"GraphQL could not read the reviews of {_pull_name(pull)} ({failed[index]}): REST")
                    reviews = self._rest_or_none(pull)
                yield pull, reviews

    def rest(self, pull: dict) -> list[dict]:
        reviews = self.api.paginate(f"/repos/{pull['org']}/{pull['repo']}/pulls/{pull['number']}/reviews")
        return [{**review, "state": (review.get("state") or "").lower(), "event": "reviewed"} for review in reviews]

    def _rest_or_none(self, pull: dict) -> list[dict] | None:
        try:
            return self.rest(pull)
        except GitHubAPIError as error:
            self.warn(f"reviews of {_pull_name(pull)} could not be read ({error}): left for its timeline")
            return None


def _pull_name(pull: dict) -> str:
    return f"{pull.get('org')}/{pull.get('repo')}#{pull.get('number')}"


def graphql_reviews(node, node_id: str) -> list[dict] | None:
    """A PR node's reviews as REST's `reviewed` events; None when the node does not hold them all in the shape
    asked (another node, more than 100 reviews, a review without an id), so the caller reads them by REST."""
    if not isinstance(node, dict) or node.get("id") != node_id or not isinstance(node.get("url"), str):
        return None
    reviews = node.get("reviews")
    if not isinstance(reviews, dict) or (reviews.get("pageInfo") or {}).get("hasNextPage") is not False:
        return None
    found = reviews.get("nodes")
    if not isinstance(found, list) or not all(
        isinstance(r, dict) and _whole_id(r.get("fullDatabaseId")) for r in found
    ):
        return None
    return [rest_review(review, node["url"]) for review in found]


def _whole_id(value) -> int | None:
    """GraphQL's BigInt (`fullDatabaseId`) is a string of digits; ids past 2^31 only fit there."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _api_base_for(web_url: str) -> str:
    """The REST base of the GitHub a web URL is on: api.github.com for github.com, /api/v3 on a server."""
    parts = urlsplit(web_url)
    return "https://api.github.com" if parts.hostname == "github.com" else f"{parts.scheme}://{parts.netloc}/api/v3"


def rest_user(author: dict | None, api_base: str) -> dict | None:
    """A GraphQL actor as the REST user object GitHub's timelines carry (a deleted account is null)."""
    if not isinstance(author, dict) or not isinstance(author.get("login"), str):
        return None
    bot = author.get("__typename") == "Bot"
    login = author["login"] + ("[bot]" if bot and not author["login"].endswith("[bot]") else "")
    base = f"{api_base}/users/{login}"
    return {
        "login": login,
        "id": author.get("databaseId"),
        "node_id": author.get("id"),
        "avatar_url": author.get("avatarUrl"),
        "gravatar_id": "",
        "url": base,
        "html_url": author.get("url"),
        "followers_url": base + "/followers",
        "following_url": base + "/following{/other_user}",
        "gists_url": base + "/gists{/gist_id}",
        "starred_url": base + "/starred{/owner}{/repo}",
        "subscriptions_url": base + "/subscriptions",
        "organizations_url": base + "/orgs",
        "repos_url": base + "/repos",
        "events_url": base + "/events{/privacy}",
        "received_events_url": base + "/received_events",
        "type": "Bot" if bot else "User",
        "site_admin": bool(author.get("isSiteAdmin", False)),
        "user_view_type": "public",
    }


def rest_review(review: dict, pull_web_url: str) -> dict:
    """A GraphQL review as the timeline's `reviewed` event: REST's fields, names and lower-case state."""
    api_base = _api_base_for(pull_web_url)
    owner, repo, _, number = urlsplit(pull_web_url).path.strip("/").split("/")[:4]
    pull_api_url = f"{api_base}/repos/{owner}/{repo}/pulls/{number}"
    return {
        "id": _whole_id(review["fullDatabaseId"]),
        "node_id": review["id"],
        "user": rest_user(review.get("author"), api_base),
        "body": review.get("body"),
        "commit_id": (review.get("commit") or {}).get("oid"),
        "submitted_at": review.get("submittedAt"),
        "state": (review.get("state") or "").lower(),
        "html_url": review.get("url"),
        "pull_request_url": pull_api_url,
        "author_association": review.get("authorAssociation"),
        "_links": {"html": {"href": review.get("url")}, "pull_request": {"href": pull_api_url}},
        "event": "reviewed",
    }
