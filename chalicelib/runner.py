"""Runs one job: builds its context, records it in job_runs, logs one summary line, alerts on failure."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from .alerts import send_failure_alert
from .config import ConfigError, Settings, get_db_url, get_github_token, get_settings, in_lambda
from .context import Deadline, JobContext, RunReport
from .github import GitHubAPI, GitHubAPIError
from .jobs import JOBS
from .models import JobRun, create_db_session, upgrade_database

log = logging.getLogger(__name__)


class JobFailed(RuntimeError):
    """A job stopped on an error; the message names the cause. What it committed before stays."""


class JobCouldNotStart(JobFailed):
    """The job never began: its configuration, secrets or database were not usable."""


def masked(db_url: str) -> str:
    return make_url(db_url).render_as_string(hide_password=True)


def describe(error: BaseException, db_url: str) -> str:
    if isinstance(error, (GitHubAPIError, ConfigError)):
        return str(error)
    if isinstance(error, SQLAlchemyError):
        cause = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        return f"database error at {masked(db_url)}: {cause}"
    return f"{type(error).__name__}: {error}"


def build_api(settings: Settings) -> GitHubAPI:
    return GitHubAPI(settings.api_url, get_github_token(), pool_size=settings.timeline_workers + 2)


def resolve_repos(settings: Settings, api: GitHubAPI) -> tuple[str, ...]:
    """The repos a run syncs: the configured list, or every non-archived repo of the org for `*` (one listing)."""
    return tuple(api.list_repos(settings.org)) if settings.all_repos else settings.repos


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _previous_failed(session, name: str, run_id: int) -> bool:
    previous = session.scalar(
        select(JobRun.status).where(JobRun.job == name, JobRun.id < run_id).order_by(JobRun.id.desc()).limit(1)
    )
    return previous == "failed"


def run_job(
    name: str,
    *,
    lambda_context=None,
    settings: Settings | None = None,
    api: GitHubAPI | None = None,
    db_url: str | None = None,
    job: Callable[[JobContext], None] | None = None,
    deadline: Deadline | None = None,
    repos: tuple[str, ...] | None = None,
) -> JobContext:
    """Run `name` (or `job`, recorded under that name) once and return its context; raise JobFailed on error.

    `repos` overrides the configured ones (backfill's `--repos`)."""
    job = job or JOBS.get(name)
    if job is None:
        raise JobFailed(f"unknown job {name!r}: choose one of {', '.join(JOBS)}")
    clock_start = time.monotonic()
    try:
        settings = settings or get_settings()
        db_url = db_url or get_db_url()
        upgrade_database(db_url)
        session = create_db_session(db_url)
        api = api or build_api(settings)
        run = JobRun(job=name, stage=settings.stage, started_at=_now(), status="running")
        session.add(run)
        session.commit()
    except (ConfigError, SQLAlchemyError) as error:
        raise JobCouldNotStart(f"{name} could not start: {describe(error, db_url or '')}") from error
    deadline = deadline or Deadline.for_run(lambda_context, settings.local_time_budget.total_seconds())
    report = RunReport()
    failure: BaseException | None = None
    try:
        ctx = JobContext(settings, api, session, deadline, repos or resolve_repos(settings, api), report)
        job(ctx)
    except BaseException as error:  # recorded below, then raised again (Ctrl-C included)
        failure = error
        session.rollback()
    seconds = time.monotonic() - clock_start
    status = (
        "interrupted"
        if isinstance(failure, KeyboardInterrupt)
        else "failed"
        if failure
        else "partial"
        if report.stopped_early
        else "ok"
    )
    message = describe(failure, db_url) if failure else None
    counts = {**report.as_dict(), "requests": api.stats.as_dict(), "seconds": round(seconds, 1)}
    try:
        run.finished_at, run.status, run.counts, run.error = _now(), status, counts, message
        session.add(run)
        session.commit()
        first_failure = failure is not None and not _previous_failed(session, name, run.id)
    except SQLAlchemyError as error:
        session.rollback()
        log.error("could not record the run in job_runs: %s", describe(error, db_url))
        first_failure = failure is not None
    finally:
        session.close()
    summary = f"{name} {status} in {seconds:.1f}s: {report.summary()}; {api.stats.summary()}"
    log_event(name, settings, status=status, summary=summary, counts=counts, error=message)
    if failure is not None and not isinstance(failure, Exception):
        raise failure
    if failure is not None:
        if first_failure:
            send_failure_alert(settings, name, message)
        raise JobFailed(f"{name} failed: {message}") from failure
    return ctx


def log_event(job: str, settings: Settings, **fields) -> None:
    """One line per run: JSON in Lambda (for CloudWatch Logs Insights), plain text locally."""
    level = logging.ERROR if fields.get("error") else logging.INFO
    if in_lambda():
        log.log(level, json.dumps({"job": job, "stage": settings.stage, **fields}, default=str))
    else:
        log.log(level, fields["summary"] + (f" ({fields['error']})" if fields.get("error") else ""))
