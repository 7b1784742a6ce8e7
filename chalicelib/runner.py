"""Runs one job: builds its context, records it in job_runs, logs one summary line, alerts on failure."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .alerts import send_failure_alert
from .config import ConfigError, Settings, get_db_url, get_settings, in_lambda
from .context import Deadline, JobContext, RunReport
from .db import create_db_session, get_engine, upgrade_database
from .error_text import describe
from .github import BudgetReserved, GitHubAPI, GitHubAPIError, OutOfTime
from .github.app_auth import github_credentials
from .github.limits import process_minutes
from .jobs import JOBS
from .models import JobRun
from .state import ORG_REPO_PAGES, PageValidators, progress_mark

log = logging.getLogger(__name__)


# A running job's row says so this often (Heartbeat). One whose last beat (or start, before its first) is older
# than ABANDONED_AFTER was killed from outside (a timeout, out of memory, kill -9) and never recorded its end;
# a long run that still beats (a backfill of hours) is never taken for one.
HEARTBEAT_SECONDS = 60.0
ABANDONED_AFTER = timedelta(minutes=15)
# Partial runs in a row that moved none of the job's progress before it is alerted: each re-reads the same work.
STUCK_AFTER_RUNS = 3
# A job that cannot start (no database, no secret) is mailed again after this long, per warm container.
START_ALERT_REPEAT = timedelta(hours=6)
FAILED_STATUSES = ("failed", "abandoned")

_start_alerts: dict[str, tuple[str, float]] = {}


class JobFailed(RuntimeError):
    """A job stopped on an error; the message names the cause. What it committed before stays."""


class JobCouldNotStart(JobFailed):
    """The job never began: its configuration, secrets or database were not usable."""


# The host whose per-minute (secondary) limits a run keeps to.
GITHUB_COM_API = "api.github.com"


def build_api(
    settings: Settings, credentials, deadline: Deadline, fan_out_worker: bool = False, sleep=None
) -> GitHubAPI:
    """The run's client, with a token or an App installation (`github_credentials`), keeping the budget's
    reserve and, on github.com, this run's share of the per-minute limits (GitHub Enterprise Server has them
    off unless its administrator sets them); `sleep` is how it waits (backfill's counts down on its bar)."""
    return GitHubAPI(
        settings.api_url,
        credentials,
        pool_size=settings.timeline_workers + 2,
        time_left=deadline.remaining,
        sleep=sleep,
        reserve_share=settings.rate_limit_reserve,
        in_flight=settings.requests_in_flight,
        minute_share=(
            settings.minute_share(fan_out_worker) if urlsplit(settings.api_url).hostname == GITHUB_COM_API else None
        ),
        minute_window=process_minutes(),
    )


def configured_repos(
    settings: Settings, api: GitHubAPI, report: RunReport, session: Session
) -> tuple[tuple[str, ...], dict[str, bool]]:
    """The repos a run syncs, and the org's repos (each with whether it is archived), from one listing of the
    org's repos (asked conditionally: an unchanged page answers 304, not counted, and gives back what it
    listed): for `*` its non-archived ones; otherwise the configured ones that exist, as GitHub spells them (a
    name given in another case would match no stored item's repo). One that does not exist (renamed, deleted,
    not visible to the token) is named in the report and left out, so the others are still synced."""
    validators = PageValidators(f"{ORG_REPO_PAGES}:{settings.org}")
    try:
        pages = api.org_repo_pages(settings.org, validators.known(session, ORG_REPO_PAGES))
        listed = [repo for page in pages for repo in page.entries]
        validators.keep(session, ORG_REPO_PAGES, pages.fresh)
    except GitHubAPIError as error:
        if error.status != 404:
            raise
        raise ConfigError(
            f"GITHUB_ORG={settings.org}: GitHub knows no organization by that name, or the token cannot see it "
            f"({error.status} {error.message})"
        ) from None
    archived = {repo["name"]: repo["archived"] for repo in listed}
    if settings.all_repos:
        return tuple(name for name, gone in archived.items() if not gone), archived
    spelled = {repo["name"].lower(): repo["name"] for repo in listed}
    unknown = [name for name in settings.repos if name.lower() not in spelled]
    if unknown:
        report.unknown_repos = unknown
        report.warn(
            f"not repositories of {settings.org} (renamed, deleted, or not visible to the token): "
            + ", ".join(f"{settings.org}/{name}" for name in unknown)
            + "; the others are synced. Fix GITHUB_REPOS."
        )
    repos = tuple(dict.fromkeys(spelled[name.lower()] for name in settings.repos if name not in unknown))
    if not repos:
        raise ConfigError(f"none of the repos in GITHUB_REPOS is a repository of {settings.org}: {', '.join(unknown)}")
    return repos, archived


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _previous(session, name: str, run_id: int) -> JobRun | None:
    return session.scalars(
        select(JobRun).where(JobRun.job == name, JobRun.id < run_id).order_by(JobRun.id.desc()).limit(1)
    ).first()


def mark_abandoned(session, name: str, run_id: int) -> list[JobRun]:
    """Runs of this job still `running` whose heartbeat stopped long ago: they were killed without a word."""
    stale = session.scalars(
        select(JobRun).where(
            JobRun.job == name,
            JobRun.status == "running",
            JobRun.id < run_id,
            func.coalesce(JobRun.heartbeat_at, JobRun.started_at) < _now() - ABANDONED_AFTER,
        )
    ).all()
    for run in stale:
        run.status, run.finished_at = "abandoned", _now()
        run.error = "never finished: killed from outside (the Lambda timeout or out of memory)"
    session.commit()
    return list(stale)


@dataclass(frozen=True)
class RunInputs:
    """What a caller hands a run instead of having it resolved as a scheduled run would (backfill.py, the live
    check, tests): settings, a client, a database, the repos (already checked), and whether to warn when no
    token is set."""

    settings: Settings | None = None
    api: GitHubAPI | None = None
    db_url: str | None = None
    repos: tuple[str, ...] | None = None
    quiet_without_token: bool = False
    fan_out_worker: bool = False  # a fan-out message's run, which keeps to a worker's share of per-minute limits


@dataclass
class _Run:
    """One run as it goes: what it started with, and how it ended."""

    name: str
    settings: Settings
    db_url: str
    api: GitHubAPI
    session: Session
    row: JobRun
    deadline: Deadline
    report: RunReport = field(default_factory=RunReport)
    failure: BaseException | None = None
    counts: dict = field(default_factory=dict)
    began: float = field(default_factory=time.monotonic)

    @property
    def status(self) -> str:
        if isinstance(self.failure, KeyboardInterrupt):
            return "interrupted"
        return "failed" if self.failure else "partial" if self.report.stopped_early else "ok"

    @property
    def message(self) -> str | None:
        return describe(self.failure, self.db_url, (self.api.token,)) if self.failure else None


def _start(name: str, inputs: RunInputs, lambda_context, deadline: Deadline | None) -> _Run:
    """Settings, secrets, the deadline, a client, a migrated database and this run's job_runs row;
    JobCouldNotStart (alerted) if any of them cannot be had."""
    settings, db_url = inputs.settings, inputs.db_url
    try:
        settings = settings or get_settings()
        db_url = db_url or get_db_url()
        deadline = deadline or Deadline.for_run(lambda_context, settings.local_time_budget.total_seconds())
        api = inputs.api or build_api(
            settings, github_credentials(settings, inputs.quiet_without_token), deadline, inputs.fan_out_worker
        )
        upgrade_database(db_url)
        session = create_db_session(db_url)
        row = JobRun(job=name, stage=settings.stage, started_at=_now(), status="running")
        session.add(row)
        session.commit()
    except (ConfigError, SQLAlchemyError) as error:
        message = f"{name} could not start: {describe(error, db_url or '')}"
        if settings is not None:
            _alert_could_not_start(settings, name, message)
        raise JobCouldNotStart(message) from error
    return _Run(name, settings, db_url, api, session, row, deadline)


def _alert_could_not_start(settings: Settings, name: str, message: str) -> None:
    """With no database there is no failure streak to consult: mail once per message per warm container."""
    last = _start_alerts.get(name)
    now = time.monotonic()
    if last is None or last[0] != message or now - last[1] > START_ALERT_REPEAT.total_seconds():
        _start_alerts[name] = (message, now)
        send_failure_alert(settings, name, message)


def run_job(
    name: str,
    *,
    lambda_context=None,
    deadline: Deadline | None = None,
    job: Callable[[JobContext], None] | None = None,
    inputs: RunInputs | None = None,
) -> JobContext:
    """Run `name` (or `job`, recorded under that name) once and return its context; raise JobFailed on error.

    A run whose waits would cross the deadline ends as `partial` with what it committed; the next run
    continues.
    """
    job = job or JOBS.get(name)
    if job is None:
        raise JobFailed(f"unknown job {name!r}: choose one of {', '.join(JOBS)}")
    inputs = inputs or RunInputs()
    run = _start(name, inputs, lambda_context, deadline)
    abandoned = mark_abandoned(run.session, name, run.row.id)
    run.report.watch(run.session)
    before = _progress_mark(run.session)
    with Heartbeat(run.db_url, run.row.id):
        ctx = _execute(run, job, inputs.repos)
    alerts = _record(run, abandoned, before)
    summary = f"{name} {run.status} in {time.monotonic() - run.began:.1f}s: {run.report.summary()}; "
    log_event(
        name,
        run.settings,
        status=run.status,
        summary=summary + run.api.stats.summary(),
        counts=run.counts,
        error=run.message,
    )
    if alerts:
        send_failure_alert(run.settings, name, "\n\n".join(alerts))
    if run.failure is not None and not isinstance(run.failure, Exception):
        raise run.failure
    if run.failure is not None:
        raise JobFailed(f"{name} failed: {run.message}") from run.failure
    return ctx


class Heartbeat:
    """While a run works, a thread of its own (on its own connection) sets its row's heartbeat_at every
    HEARTBEAT_SECONDS, so the run is known to be alive however long it takes."""

    def __init__(self, db_url: str, run_id: int):
        self.db_url, self.run_id = db_url, run_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{run_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                with get_engine(self.db_url).begin() as connection:
                    connection.execute(update(JobRun).where(JobRun.id == self.run_id).values(heartbeat_at=_now()))
            except SQLAlchemyError as error:
                log.warning("could not record the run's heartbeat: %s", describe(error, self.db_url))


def _execute(run: _Run, job: Callable[[JobContext], None], repos: tuple[str, ...] | None) -> JobContext | None:
    """The job itself; what it raises is kept on the run (waits past the deadline end it as partial)."""
    ctx = None
    try:
        listing = None
        if not repos:
            repos, listing = configured_repos(run.settings, run.api, run.report, run.session)
        ctx = JobContext(run.settings, run.api, run.session, run.deadline, repos, run.report, org_repos=listing)
        job(ctx)
    except OutOfTime as error:
        run.session.rollback()
        run.report.stopped_early = True
        run.report.resume_in = error.resume_in if isinstance(error, BudgetReserved) else None
        run.report.warn(str(error))
    except BaseException as error:  # recorded, then raised again by run_job (Ctrl-C included)
        run.failure = error
        run.session.rollback()
    return ctx


def _record(run: _Run, abandoned: list[JobRun], progress_before: tuple | None) -> list[str]:
    """The run's job_runs row, and what to alert of: a stuck streak, a run killed from outside, the first
    failure of a streak, repos newly found missing."""
    report, session, message = run.report, run.session, run.message
    counts = {
        **report.as_dict(),
        "requests": run.api.stats.as_dict(),
        "seconds": round(time.monotonic() - run.began, 1),
    }
    run.counts = counts
    alerts: list[str] = []
    try:
        counts["progressed"] = progress_before is not None and _progress_mark(session) != progress_before
        stuck = _stuck_message(session, run.name, run.row.id, run.status, counts["progressed"])
        if stuck:
            alerts.append(stuck)
        previous = _previous(session, run.name, abandoned[0].id if abandoned else run.row.id)
        streak = previous is not None and previous.status in FAILED_STATUSES
        if abandoned and not streak:
            alerts.append(f"the run started at {abandoned[0].started_at:%Y-%m-%d %H:%M} UTC {abandoned[0].error}")
        if run.failure is not None and not (streak or abandoned):
            alerts.append(message)
        previous_unknown = (previous.counts or {}).get("unknown_repos") if previous is not None else None
        if report.unknown_repos and report.unknown_repos != previous_unknown:
            alerts.append(report.warnings[0])
        run.row.finished_at, run.row.status, run.row.counts, run.row.error = _now(), run.status, counts, message
        session.add(run.row)
        session.commit()
    except SQLAlchemyError as error:
        session.rollback()
        log.error("could not record the run in job_runs: %s", describe(error, run.db_url, (run.api.token,)))
        alerts = [message] if run.failure is not None else []
    finally:
        session.close()
    return alerts


def _progress_mark(session) -> tuple | None:
    try:
        return progress_mark(session)
    except SQLAlchemyError:
        session.rollback()
        return None


def _stuck_message(session, name: str, run_id: int, status: str, progressed: bool) -> str | None:
    """Said once, when this run makes STUCK_AFTER_RUNS partial runs in a row that moved no progress."""
    if status != "partial" or progressed:
        return None
    earlier = session.scalars(
        select(JobRun).where(JobRun.job == name, JobRun.id < run_id).order_by(JobRun.id.desc()).limit(STUCK_AFTER_RUNS)
    ).all()
    stuck = [run.status == "partial" and (run.counts or {}).get("progressed") is False for run in earlier]
    if stuck[: STUCK_AFTER_RUNS - 1] != [True] * (STUCK_AFTER_RUNS - 1) or stuck[STUCK_AFTER_RUNS - 1 :] == [True]:
        return None
    return (
        f"{name} was cut short by its time limit {STUCK_AFTER_RUNS} runs in a row without moving any of its "
        "progress, so each run reads the same work again and it never finishes: give it more time (the Lambda "
        "timeout, or LOCAL_TIME_BUDGET_SECONDS), or fewer repos (GITHUB_REPOS) until it has caught up."
    )


def log_event(job: str, settings: Settings, **fields) -> None:
    """One line per run: JSON in Lambda (for CloudWatch Logs Insights), plain text locally."""
    level = logging.ERROR if fields.get("error") else logging.INFO
    if in_lambda():
        log.log(level, json.dumps({"job": job, "stage": settings.stage, **fields}, default=str))
    else:
        log.log(level, fields["summary"] + (f" ({fields['error']})" if fields.get("error") else ""))
