"""How every request reaches GitHub: auth, versioning, the one origin the token goes to, redirects, retries, rate
limits, conditional requests, pagination and the run's deadline. `GitHubAPI` (client.py) adds the endpoints."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import requests
import urllib3

from .answers import GraphQLResult, Response
from .errors import BudgetReserved, ForeignURL, GitHubAPIError, OutOfTime
from .limits import MinuteWindow, RateLimits, RequestStats, minute_cost

log = logging.getLogger("chalicelib.github")

API_VERSION = "2022-11-28"
PAGE_SIZE = 100
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
# No GitHub answer the app asks for comes near this; a larger one is a misbehaving server, not data.
MAX_BODY_BYTES = 32 * 1024 * 1024
# A list endpoint at 100 per page: 100,000 members, repos or timeline events before we call it a loop.
MAX_PAGES = 1000
# GitHub's words when a whole GraphQL query timed out or broke on its side: asking again may work.
_TRANSIENT_GRAPHQL = re.compile(r"timeout|timed out|something went wrong|try again", re.IGNORECASE)


def _credentials(token):
    """A token string becomes a StaticToken; credentials (an App installation) are kept; None stays None."""
    if token is None or token == "":
        return None
    if isinstance(token, str):
        from .app_auth import StaticToken

        return StaticToken(token)
    return token


class _Unreachable(Exception):
    """The API could not be reached this time, for a reason that may mend (a timeout, a dropped connection)."""

    def __init__(self, url: str, why: str):
        super().__init__(why)
        self.url, self.why = url, why


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with default ports spelled out, so `https://h` and `https://h:443` are one origin."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or default


class Transport:
    """A `requests.Session` with GitHub's auth, versioning, rate limits, retries and pagination.

    The token is sent only to the configured API's origin: a URL GitHub's answers point elsewhere (a `Link`, a
    redirect, a payload's URL) is refused. Waits never run past `time_left()` (the run's deadline, given when the
    client is built), and a request, its answer included, never runs past `hard_time_left()` (when the function
    is killed): `OutOfTime` is raised instead, so the job ends as `partial` with its work committed.
    """

    def __init__(
        self,
        base_url: str = "https://api.github.com",
        token=None,
        *,
        timeout: float = 30.0,
        max_retries: int = 5,
        backoff_cap: float = 60.0,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
        pool_size: int = 8,
        time_left: Callable[[], float] = lambda: float("inf"),
        hard_time_left: Callable[[], float] | None = None,
        reserve_share: float = 0.0,
        in_flight: int = 0,
        minute_share: float | None = None,
        minute_window: MinuteWindow | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_cap = backoff_cap
        self.sleep = sleep or time.sleep
        self.clock = clock or time.time
        self.credentials = _credentials(token)
        self.stats = RequestStats()
        self.limits = RateLimits(self.clock, reserve_share, in_flight)
        self.minute = minute_window or MinuteWindow(self.clock)
        self.minute_share = minute_share
        self.time_left = time_left
        self.hard_time_left = hard_time_left or time_left
        self._origin = origin(self.base_url)
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

    @property
    def token(self) -> str | None:
        """The token held now (to hide it in error text); None unauthenticated."""
        return self.credentials.known() if self.credentials else None

    def url(self, path_or_url: str) -> str:
        """The absolute URL of a path, or the URL itself when it is on the configured API's origin."""
        if not path_or_url.startswith(("http://", "https://")):
            return urljoin(self.base_url + "/", path_or_url.lstrip("/"))
        if origin(path_or_url) != self._origin:
            raise ForeignURL(
                None,
                shown_url(path_or_url),
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
        """Any request with every rule of the client: sent (redirects followed), asked again while GitHub says
        to wait or fails on its side, then answered or raised."""
        url = self.url(path_or_url)
        attempt, renewed = 0, False
        while True:
            try:
                raw, answered = self._send_handling_redirects(
                    method, url, params, json_body, etag, REDIRECT_STATUSES - ok_statuses if allow_redirects else set()
                )
            except _Unreachable as failure:
                attempt = self._retry_or_raise(attempt, None, failure.url, failure.why)
                continue
            if raw.status_code == 401 and self.credentials and self.credentials.renewable and not renewed:
                log.info("GitHub answered 401 for %s: renewing the installation token once", shown_url(answered))
                self.credentials.renew()
                renewed = True
                continue
            wait = self.limits.secondary_wait(raw.status_code, raw.headers, _message(raw))
            if wait is not None:
                attempt = self._retry_after_limit(attempt, raw.status_code, shown_url(answered), wait, _message(raw))
                continue
            if raw.status_code in RETRYABLE_STATUSES:
                attempt = self._retry_or_raise(attempt, raw.status_code, answered, _message(raw))
                continue
            return _answer(raw, answered, ok_statuses)

    def _send_handling_redirects(
        self, method: str, url: str, params, json_body, etag, follow: set[int]
    ) -> tuple[requests.Response, str]:
        """The answer, after following up to MAX_REDIRECTS redirects (of the statuses in `follow`) within the
        API's origin; and its URL."""
        for _ in range(MAX_REDIRECTS + 1):
            raw = self._send_single_request(method, url, params, json_body, etag)
            if raw.status_code not in follow:
                return raw, url
            url, params = self.url(urljoin(url, raw.headers.get("Location", ""))), None
        raise GitHubAPIError(raw.status_code, shown_url(url), f"more than {MAX_REDIRECTS} redirects")

    def _send_single_request(self, method: str, url: str, params, json_body, etag) -> requests.Response:
        """One request, after waiting for its bucket's reset if GitHub said it is used up; counted and its
        rate-limit headers recorded."""
        bucket = self.bucket_for(url)
        self._keep_to_limits(method, url, bucket)
        left = self.hard_time_left()
        if left <= 0:
            raise OutOfTime(f"no time left for a request to {shown_url(url)}")
        # The whole answer must arrive within the timeout and the run's time: a server that drips bytes slowly
        # would pass every per-read timeout.
        allowed = min(self.timeout, left)
        try:
            raw = self.session.request(
                method,
                url,
                params=params,
                json=json_body,
                headers=self._request_headers(etag),
                timeout=allowed,
                allow_redirects=False,
                stream=True,
            )
            body = _read_bounded(raw, time.monotonic() + allowed)
        except _TooSlow:
            if allowed >= left:
                raise OutOfTime(f"{shown_url(url)} was still answering when the run's time ran out") from None
            raise _Unreachable(url, f"{shown_url(url)} took more than {allowed:.0f}s to answer") from None
        except (requests.ConnectionError, requests.Timeout) as error:
            why, transient = self._unreachable(url, error)
            if not transient:
                raise GitHubAPIError(None, shown_url(url), why) from None
            raise _Unreachable(url, why) from None
        except (urllib3.exceptions.ProtocolError, urllib3.exceptions.ReadTimeoutError, OSError) as error:
            # Raised by the body's reads, which requests does not wrap: a transient failure, asked again.
            why = f"the connection broke while {shown_url(url)} was answering ({type(error).__name__})"
            raise _Unreachable(url, why) from None
        self.limits.record(raw.headers)
        self.stats.add(**({"not_modified": 1} if raw.status_code == 304 else {bucket: 1}))
        if body is None:
            raise GitHubAPIError(raw.status_code, shown_url(url), f"the answer is larger than {MAX_BODY_BYTES} bytes")
        return raw

    def _keep_to_limits(self, method: str, url: str, bucket: str) -> None:
        """Wait as the budget's headers ask (used up, at the reserve, nearing it), then (given `minute_share`)
        for this run's share of the per-minute limit of the request's endpoint. A budget's wait past the run's
        time stops the run (`BudgetReserved`, to be resumed after it) instead of meeting a 403."""
        pause = self.limits.pause_before(bucket)
        if pause is not None:
            if pause.seconds > self.time_left():
                raise BudgetReserved(f"{pause.reason}: stopping until its reset", pause.seconds)
            log.info("%s: waiting %.1fs", pause.reason, pause.seconds)
            self.wait(pause.seconds, pause.reason)
            self.stats.add(rate_limit_waits=1, waited_seconds=pause.seconds)
        if self.minute_share is None:
            return
        key, points, cap = minute_cost(method, url, bucket)
        while wait := self.minute.take(key, points, max(1, int(cap * self.minute_share))):
            self.wait(wait, f"this run's share of GitHub's per-minute limit for {key}")
            self.stats.add(minute_waits=1, waited_seconds=wait)

    def _request_headers(self, etag: str | None) -> dict[str, str]:
        """Auth (the current token: an App's is renewed before it expires) and the conditional-request tag."""
        headers = {"If-None-Match": etag} if etag else {}
        if self.credentials:
            headers["Authorization"] = f"Bearer {self.credentials.current()}"
        return headers

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
            shown, messages = shown_url(response.url), "; ".join(str(e.get("message", e)) for e in errors[:3])
            if any(error.get("type") == "RATE_LIMITED" for error in errors):
                if attempt >= self.max_retries:
                    raise GitHubAPIError(200, shown, f"still rate limited after {attempt} waits: {messages}")
                attempt += 1
                self.limits.used_up("graphql")
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
                raise GitHubAPIError(response.status, shown_url(response.url), f"the Link: next chain {why}")
            seen.add(response.next_url)
            response = self.get(response.next_url)
            yield response

    def paginate(self, path_or_url: str, params: dict | None = None) -> Iterator[dict]:
        """Every item of a list endpoint, following `Link: rel="next"` until there is none."""
        for response in self.pages(self.get(path_or_url, params={"per_page": PAGE_SIZE, **(params or {})})):
            yield from response.data or []

    def spare(self, bucket: str, keep_share: float) -> int | None:
        """Requests left in a bucket beyond `keep_share` of its hourly limit; None before any answer said."""
        return self.limits.spare(bucket, keep_share)

    def _retry_after_limit(self, attempt: int, status: int, shown: str, wait: float, message: str) -> int:
        if attempt >= self.max_retries:
            raise GitHubAPIError(status, shown, f"still rate limited after {attempt} waits: {message}")
        log.warning("GitHub rate limit (%d) on %s: waiting %.0fs as told", status, shown, wait)
        self.wait(wait, f"GitHub's rate limit ({status}: {message[:80]})")
        self.stats.add(retries=1, rate_limit_waits=1, waited_seconds=wait)
        return attempt + 1

    def _retry_or_raise(self, attempt: int, status: int | None, url: str, message: str) -> int:
        if attempt >= self.max_retries:
            raise GitHubAPIError(status, shown_url(url), f"{message} (gave up after {attempt + 1} attempts)")
        delay = min(self.backoff_cap, 2.0**attempt)
        log.warning("GitHub %s on %s: retrying in %.0fs", status or "unreachable", shown_url(url), delay)
        self.wait(delay, f"retrying {shown_url(url)} after {status or 'a connection failure'}")
        self.stats.add(retries=1)
        return attempt + 1


def _answer(raw: requests.Response, url: str, ok_statuses: frozenset[int]) -> Response:
    """A final answer as a Response; an error status not in `ok_statuses`, or a 200 that is not JSON, raised."""
    if raw.status_code >= 400 and raw.status_code not in ok_statuses:
        raise GitHubAPIError(raw.status_code, shown_url(raw.url or url), _message(raw))
    data = _json_or_none(raw)
    if data is None and raw.status_code == 200:
        raise GitHubAPIError(
            200, shown_url(raw.url or url), "the answer is not JSON: " + (raw.text or "an empty body").strip()[:120]
        )
    return Response(raw.status_code, raw.url or url, data, raw.headers, raw.links)


class _TooSlow(Exception):
    """The answer was still arriving at the time it had to be done by."""


def _read_bounded(raw: requests.Response, done_by: float) -> bytes | None:
    """The body, read up to MAX_BODY_BYTES and until `done_by` (monotonic); None past the size (the connection
    closed), _TooSlow past the time."""
    chunks, size = [], 0
    while chunk := raw.raw.read1(65536, decode_content=True):  # what one read brings, so the clock is looked at
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raw.close()
            return None
        if time.monotonic() > done_by:
            raw.close()
            raise _TooSlow
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


def shown_url(url: str) -> str:
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
