"""What GitHub's rate-limit headers said, per bucket (core, search, graphql), and the requests a run made.

The transport consults `RateLimits` before each request (how long to wait), tells it every answer's headers,
and asks it how long a 403/429 wants; the jobs ask it how much of a bucket is spare.

The hourly budgets are shared by every function on one token or installation, and every answer's headers say
what is left of the shared one: so each run keeps a reserve by them (stopping at it, pacing itself as it
nears it), with room for the requests the other functions may have in flight. GitHub's per-minute limits are
not in the headers: each run keeps to its share of them (`MinuteWindow`)."""

from __future__ import annotations

import functools
import logging
import math
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

log = logging.getLogger("chalicelib.github")

SECONDARY_LIMIT_DEFAULT_WAIT = 60.0
RESET_MARGIN_SECONDS = 1.0
# GitHub's secondary limits ("Rate limits for the REST API"): points a minute per REST endpoint (a GET is 1, a
# POST, PATCH, PUT or DELETE 5) and for the GraphQL endpoint (a query without mutations is 1).
ENDPOINT_POINTS_PER_MINUTE = 900
GRAPHQL_POINTS_PER_MINUTE = 2000
# The hourly budgets a reserve is kept in; search's is a minute's, kept by its headers with no reserve.
HOURLY_BUCKETS = ("core", "graphql")


@dataclass(frozen=True)
class Pause:
    """How long the budget asks to wait before a request, and why."""

    seconds: float
    reason: str


class MinuteWindow:
    """Points spent in the last 60 seconds per key (a REST endpoint, GraphQL), so a run keeps to its share of a
    per-minute limit. Shared by the threads of one client."""

    def __init__(self, clock: Callable[[], float]):
        self.clock = clock
        self._spent: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def take(self, key: str, points: int, cap: int) -> float:
        """Spend `points` under `key` and return 0, or return how long to wait before asking again."""
        with self._lock:
            now, spent = self.clock(), self._spent[key]
            while spent and spent[0][0] <= now - 60:
                spent.popleft()
            total = sum(p for _, p in spent)
            if total + points <= cap or not spent:
                spent.append((now, points))
                return 0.0
            freed, needed = 0, total + points - cap
            for at, p in spent:
                freed += p
                if freed >= needed:
                    return max(0.01, at + 60 - now)
            return 60.0


@functools.cache
def process_minutes() -> MinuteWindow:
    """The per-minute tally every client of this process shares: a Lambda container's runs follow one another
    (each fan-out message is a run of its own), and a worker's share is the container's, not one run's."""
    return MinuteWindow(time.time)


def minute_cost(method: str, url: str, bucket: str) -> tuple[str, int, int]:
    """What a request counts against a per-minute limit: the key, its points and the key's cap a minute."""
    if bucket == "graphql":
        return "graphql", 1, GRAPHQL_POINTS_PER_MINUTE
    return endpoint_of(method, url), 1 if method in ("GET", "HEAD", "OPTIONS") else 5, ENDPOINT_POINTS_PER_MINUTE


def endpoint_of(method: str, url: str) -> str:
    """The endpoint a request counts against for the per-endpoint limit: its method and path with owners, repos
    and numbers as placeholders (stricter than GitHub, never looser)."""
    parts = urlsplit(url).path.rstrip("/").split("/")
    for anchor, names in (("repos", ["{owner}", "{repo}"]), ("orgs", ["{org}"]), ("users", ["{user}"])):
        if anchor in parts:
            at = parts.index(anchor) + 1
            parts[at : at + len(names)] = names[: len(parts[at : at + len(names)])]
    return f"{method} " + "/".join("{n}" if re.fullmatch(r"\d+", p) else p for p in parts)


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
    minute_waits: int = 0
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
            "minute_waits": self.minute_waits,
            "waited_seconds": round(self.waited_seconds, 1),
        }

    def summary(self) -> str:
        return (
            f"requests: {self.search} search, {self.core} core, {self.not_modified} not-modified (304)"
            + (f", {self.retries} retries" if self.retries else "")
            + (
                f", waited {self.waited_seconds:.0f}s for rate limits"
                if self.rate_limit_waits or self.minute_waits
                else ""
            )
        )


class RateLimits:
    """Each bucket's remaining requests and reset time, as the last answer's headers said (strings, as GitHub
    sends them), shared by the threads of one client.

    In the hourly buckets a run leaves `reserve_share` of the limit, plus `in_flight` (the requests every
    function of the deployment may have in flight at once, which a remaining count read now does not show yet):
    at that floor it waits for the reset (or stops, when that is past its time); within one more reserve of it,
    it spreads what is left above the floor over the time to the reset."""

    def __init__(self, clock: Callable[[], float], reserve_share: float = 0.0, in_flight: int = 0):
        self.clock = clock
        self.reserve_share, self.in_flight = reserve_share, in_flight
        self._buckets: dict[str, tuple[int, float]] = {}
        self._limits: dict[str, int] = {}
        self._lock = threading.Lock()

    def record(self, headers: Mapping[str, str]) -> None:
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
        with self._lock:
            self._buckets[resource or "core"] = state
            if (headers.get("x-ratelimit-limit") or "").isdigit():
                self._limits[resource or "core"] = int(headers["x-ratelimit-limit"])

    def floor(self, bucket: str) -> int:
        """Requests a run leaves in the bucket: the reserve and room for what is in flight (0 for search)."""
        with self._lock:
            limit = self._limits.get(bucket)
        if bucket not in HOURLY_BUCKETS or limit is None or not (self.reserve_share or self.in_flight):
            return 0
        return math.ceil(limit * self.reserve_share) + self.in_flight

    def pause_before(self, bucket: str) -> Pause | None:
        """How long to wait before the next request of the bucket: until its reset when it is at its floor
        (used up, or down to the reserve), a share of the time to the reset when it nears the floor."""
        with self._lock:
            remaining, reset_at = self._buckets.get(bucket, (1, 0.0))
        to_reset = reset_at + RESET_MARGIN_SECONDS - self.clock()
        if to_reset <= 0:
            return None
        floor = self.floor(bucket)
        if remaining <= 0:
            return Pause(to_reset, f"GitHub's {bucket} rate limit is used up")
        if remaining <= floor:
            return Pause(to_reset, f"GitHub's {bucket} budget is down to its reserve ({remaining} left)")
        if floor and remaining <= 2 * floor:
            return Pause(to_reset / (remaining - floor), f"pacing near the {bucket} reserve ({remaining} left)")
        return None

    def used_up(self, bucket: str) -> None:
        """GitHub said the bucket is used up: the next request waits for its reset (by the headers, or a minute
        from now when they do not say)."""
        with self._lock:
            remaining, reset_at = self._buckets.get(bucket, (1, 0.0))
            if remaining > 0 or reset_at <= self.clock():
                self._buckets[bucket] = (0, self.clock() + SECONDARY_LIMIT_DEFAULT_WAIT)

    def spare(self, bucket: str, keep_share: float) -> int | None:
        """Requests left in a bucket beyond `keep_share` of its hourly limit; None before any answer said."""
        with self._lock:
            state, limit = self._buckets.get(bucket), self._limits.get(bucket)
        if state is None or limit is None:
            return None
        if state[1] + RESET_MARGIN_SECONDS <= self.clock():
            return int(limit * (1 - keep_share))
        return max(0, state[0] - int(limit * keep_share))

    def secondary_wait(self, status: int, headers: Mapping[str, str], message: str) -> float | None:
        """Seconds to wait when GitHub says we went too fast (403/429), else None."""
        if status not in (403, 429):
            return None
        retry_after = headers.get("retry-after")
        if retry_after is not None:
            try:
                return max(0.0, float(retry_after))
            except ValueError:
                return SECONDARY_LIMIT_DEFAULT_WAIT
        if headers.get("x-ratelimit-remaining") == "0":
            try:
                return max(0.0, float(headers.get("x-ratelimit-reset", "0")) - self.clock()) + RESET_MARGIN_SECONDS
            except ValueError:
                return SECONDARY_LIMIT_DEFAULT_WAIT
        if status == 429 or "rate limit" in message.lower():
            return SECONDARY_LIMIT_DEFAULT_WAIT
        return None
