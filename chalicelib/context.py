"""What every job is handed: settings, the GitHub client, a database session, a deadline and a report."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from .config import Settings
from .github import GitHubAPI
from .store import UpsertCounts

# Stop this long before Lambda would kill the function (a tenth of what is left, for short contexts), to
# commit and log what was done.
LAMBDA_SAFETY_SECONDS = 20.0


class Deadline:
    """When a job must stop starting new work (`remaining`): the Lambda's remaining time less a safety margin, or
    a local time budget; and when all work must have ended (`hard_remaining`): when Lambda kills the function,
    or the local budget plus the same margin. A request started before the first must end before the second."""

    def __init__(self, seconds_left: Callable[[], float], hard_seconds_left: Callable[[], float] | None = None):
        self._seconds_left = seconds_left
        self._hard_seconds_left = hard_seconds_left or (lambda: seconds_left() + LAMBDA_SAFETY_SECONDS)

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
        """The Lambda's remaining time; the local budget outside Lambda and under Chalice's local emulation,
        whose context always claims 3 seconds (its test client ignores the app's `lambda_timeout`)."""
        emulated = type(lambda_context).__module__ == "chalice.local"
        if not emulated and hasattr(lambda_context, "get_remaining_time_in_millis"):
            margin = min(LAMBDA_SAFETY_SECONDS, lambda_context.get_remaining_time_in_millis() / 10_000)

            def left() -> float:
                return lambda_context.get_remaining_time_in_millis() / 1000

            return cls(lambda: left() - margin, left)
        return cls.after(local_budget_seconds)

    def remaining(self) -> float:
        return self._seconds_left()

    def hard_remaining(self) -> float:
        return self._hard_seconds_left()

    @property
    def passed(self) -> bool:
        return self.remaining() <= 0


@dataclass
class RunReport:
    """Counts a job gathers for its summary line and its job_runs row.

    Row counts (`add`, `count`) are staged and become the report's only when their transaction commits
    (`watch` ties them to a session), so a failed run reports what it kept, not what was rolled back.
    """

    tables: dict[str, UpsertCounts] = field(default_factory=lambda: defaultdict(UpsertCounts))
    transferred: int = 0
    removed: int = 0
    deactivated: int = 0
    skipped: int = 0
    pages_fetched: int = 0
    pages_not_modified: int = 0
    coverage_reads: int = 0
    timeline_fallbacks: int = 0
    listings_refused: list[str] = field(default_factory=list)
    stopped_early: bool = False
    resume_in: float | None = None  # seconds until GitHub's budget resets, when the run stopped at its reserve
    warnings: list[str] = field(default_factory=list)
    repos: dict[str, Any] = field(default_factory=dict)
    unknown_repos: list[str] = field(default_factory=list)
    _staged: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def add(self, table: str, counts: UpsertCounts) -> None:
        self._staged.append(lambda: self.tables[table].__iadd__(counts))

    def count(self, name: str, number: int = 1) -> None:
        """`transferred`, `removed` or `deactivated`, staged with the rows that made it so."""
        self._staged.append(lambda: setattr(self, name, getattr(self, name) + number))

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def skip(self, message: str) -> None:
        """A malformed payload left out (the rest of its batch is stored)."""
        self.skipped += 1
        self.warnings.append(message)

    def watch(self, session: Session) -> None:
        event.listen(session, "after_commit", self._committed)
        event.listen(session, "after_rollback", self._rolled_back)

    def _committed(self, _session) -> None:
        staged, self._staged = self._staged, []
        for apply in staged:
            apply()

    def _rolled_back(self, _session) -> None:
        self._staged = []

    def as_dict(self) -> dict:
        return {
            "tables": {name: vars(c) for name, c in self.tables.items()},
            "transferred": self.transferred,
            "removed": self.removed,
            "deactivated": self.deactivated,
            "skipped": self.skipped,
            "timeline_pages": {"fetched": self.pages_fetched, "not_modified": self.pages_not_modified},
            "never_read_timelines_asked": self.coverage_reads,
            "timelines_instead_of_listings": self.timeline_fallbacks,
            "listings_refused": self.listings_refused,
            "stopped_early": self.stopped_early,
            **({"resume_in_seconds": round(self.resume_in)} if self.resume_in is not None else {}),
            "unknown_repos": self.unknown_repos,
            "warnings": self.warnings[:50],
            "repos": {name: asdict(result) if is_dataclass(result) else result for name, result in self.repos.items()},
        }

    def summary(self) -> str:
        tables = ", ".join(f"{name} +{c.inserted} ~{c.updated}" for name, c in sorted(self.tables.items())) or "no rows"
        parts = [tables, f"transfers {self.transferred}", f"removed {self.removed}"]
        if self.deactivated:
            parts.append(f"members deactivated {self.deactivated}")
        if self.unknown_repos:
            parts.append(f"left out, not found on GitHub: {', '.join(self.unknown_repos)}")
        if self.skipped:
            parts.append(f"{self.skipped} malformed payloads skipped")
        if self.pages_fetched or self.pages_not_modified:
            parts.append(f"timeline pages {self.pages_fetched} fetched / {self.pages_not_modified} not modified")
        if self.coverage_reads:
            parts.append(f"{self.coverage_reads} never-read timelines asked")
        if self.listings_refused:
            parts.append(f"listings refused or cut short: {', '.join(self.listings_refused)}")
        if self.timeline_fallbacks:
            parts.append(f"{self.timeline_fallbacks} timelines read where the listings could not prove the events")
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
    # The org's repos, each with whether it is archived, when the run listed them (searches choose by it).
    org_repos: Mapping[str, bool] | None = None

    def out_of_time(self) -> bool:
        """Whether the deadline passed; if so the run is marked stopped early (the next run continues), so a
        step only has to stop."""
        if self.deadline.passed:
            self.report.stopped_early = True
            return True
        return False
