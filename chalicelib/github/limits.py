"""What GitHub's rate-limit headers said, per bucket (core, search, graphql), and the requests a run made.

The transport consults `RateLimits` before each request (how long to wait), tells it every answer's headers,
and asks it how long a 403/429 wants; the jobs ask it how much of a bucket is spare."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

log = logging.getLogger("chalicelib.github")

SECONDARY_LIMIT_DEFAULT_WAIT = 60.0
RESET_MARGIN_SECONDS = 1.0


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


class RateLimits:
    """Each bucket's remaining requests and reset time, as the last answer's headers said (strings, as GitHub
    sends them), shared by the threads of one client."""

    def __init__(self, clock: Callable[[], float]):
        self.clock = clock
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

    def wait_before(self, bucket: str) -> float:
        """Seconds to wait before the next request of the bucket (0 when it has requests left)."""
        with self._lock:
            remaining, reset_at = self._buckets.get(bucket, (1, 0.0))
        wait = reset_at + RESET_MARGIN_SECONDS - self.clock()
        return wait if remaining <= 0 and wait > 0 else 0.0

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
