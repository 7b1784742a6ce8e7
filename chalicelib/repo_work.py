"""The fan-out queue's consumer: one repo's daily check or backfill events per message (see `fanout`), run as a
job of its own (`daily_repo`, `backfill_repo` in job_runs) on the repo the message names."""

from __future__ import annotations

import json
import logging
from datetime import datetime

from . import completeness, history, jobs, listings, timelines
from .context import JobContext
from .runner import RunInputs, run_job
from .state import DAILY

log = logging.getLogger(__name__)


class WorkUnfinished(RuntimeError):
    """The repo's work stopped at the time limit: SQS gives the message back for the next attempt."""


def _daily_check(repo: str, day: str):
    def check(ctx: JobContext) -> None:
        done = DAILY.of(repo).value(ctx.session)
        if done is not None and done >= datetime.fromisoformat(day):
            log.info("daily %s: already checked on %s", repo, day)
            return
        jobs.check_repo_daily(ctx, repo, completeness.daily_window(ctx))

    return check


def _backfill_events(repo: str, since: str, until: str):
    def read(ctx: JobContext) -> None:
        plan = history.BackfillPlan(
            since=datetime.fromisoformat(since),
            until=datetime.fromisoformat(until),
            repos=(repo,),
            kinds=(),
            events=True,
        )
        if not history.repos_without_events(ctx, plan):
            log.info("backfill %s: events already checkpointed", repo)
            return
        listings.read_period(
            ctx,
            [repo],
            plan.since,
            history.created_range(plan),
            listings.Timelines(lambda chosen: timelines.sync_timelines(ctx, chosen)),
            completed=lambda done: history.checkpoint_events(ctx, plan, done),
        )

    return read


def work(body: str, lambda_context=None) -> None:
    """One queued repo's work, recorded in job_runs as `daily_repo` or `backfill_repo`."""
    message = json.loads(body)
    repo, kind = message["repo"], message["kind"]
    if kind == "daily_check":
        name, job = "daily_repo", _daily_check(repo, message["day"])
    elif kind == "backfill_events":
        name, job = "backfill_repo", _backfill_events(repo, message["since"], message["until"])
    else:
        raise ValueError(f"unknown repo work {kind!r}")
    ctx = run_job(name, lambda_context=lambda_context, job=job, inputs=RunInputs(repos=(repo,)))
    if ctx.report.stopped_early:
        raise WorkUnfinished(f"{name} {repo} stopped at the time limit: SQS hands the message back")
