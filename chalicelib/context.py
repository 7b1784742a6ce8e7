"""What every job is handed: settings, the GitHub client, a database session, a deadline and a report."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from .config import Settings
from .github import GitHubAPI
from .store import UpsertCounts

# Stop this long before Lambda would kill the function (a tenth of what is left, for short contexts), to
# commit and log what was done.
LAMBDA_SAFETY_SECONDS = 20.0


class Deadline:
    """When a job must stop starting new work: the Lambda's remaining time, or a local time budget."""

    def __init__(self, seconds_left: Callable[[], float]):
        self._seconds_left = seconds_left

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] | None = None) -> Deadline:
        clock = clock or time.monotonic
        at = clock() + seconds
        return cls(lambda: at - clock())

    @classmethod
    def never(cls) -> Deadline:
        return cls(lambda: float("inf"))

    @classmethod
    def for_run(cls, lambda_context, local_budget_seconds: float) -> Deadline:
        if lambda_context is not None and hasattr(lambda_context, "get_remaining_time_in_millis"):
            margin = min(LAMBDA_SAFETY_SECONDS, lambda_context.get_remaining_time_in_millis() / 10_000)
            return cls(lambda: lambda_context.get_remaining_time_in_millis() / 1000 - margin)
        return cls.after(local_budget_seconds)

    def remaining(self) -> float:
        return self._seconds_left()

    @property
    def passed(self) -> bool:
        return self.remaining() <= 0


@dataclass
class RunReport:
    """Counts a job gathers for its summary line and its job_runs row."""

    tables: dict[str, UpsertCounts] = field(default_factory=lambda: defaultdict(UpsertCounts))
    transferred: int = 0
    removed: int = 0
    deactivated: int = 0
    pages_fetched: int = 0
    pages_not_modified: int = 0
    stopped_early: bool = False
    warnings: list[str] = field(default_factory=list)
    repos: dict[str, Any] = field(default_factory=dict)

    def add(self, table: str, counts: UpsertCounts) -> None:
        self.tables[table] += counts

    def as_dict(self) -> dict:
        return {
            "tables": {name: vars(c) for name, c in self.tables.items()},
            "transferred": self.transferred,
            "removed": self.removed,
            "deactivated": self.deactivated,
            "timeline_pages": {"fetched": self.pages_fetched, "not_modified": self.pages_not_modified},
            "stopped_early": self.stopped_early,
            "warnings": self.warnings[:50],
            "repos": {name: asdict(result) if is_dataclass(result) else result for name, result in self.repos.items()},
        }

    def summary(self) -> str:
        tables = ", ".join(f"{name} +{c.inserted} ~{c.updated}" for name, c in sorted(self.tables.items())) or "no rows"
        parts = [tables, f"transfers {self.transferred}", f"removed {self.removed}"]
        if self.deactivated:
            parts.append(f"members deactivated {self.deactivated}")
        if self.pages_fetched or self.pages_not_modified:
            parts.append(f"timeline pages {self.pages_fetched} fetched / {self.pages_not_modified} not modified")
        if self.stopped_early:
            parts.append("stopped early (time limit), the next run continues")
        if self.warnings:
            parts.append(f"{len(self.warnings)} warnings")
        return "; ".join(parts)


@dataclass(frozen=True)
class JobContext:
    """Built once per run by the runner; a job changes nothing here but its report."""

    settings: Settings
    api: GitHubAPI
    session: Session
    deadline: Deadline
    repos: tuple[str, ...]
    report: RunReport = field(default_factory=RunReport)
    started: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
