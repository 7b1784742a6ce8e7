"""The fan-out queue's consumer: one search scope's daily check or one repo's backfill events per message (see
`fanout`), run as a job of its own (`daily_repo`, `backfill_repo` in job_runs) on the repos the message names."""

from __future__ import annotations

import json
import logging
from datetime import datetime

from . import completeness, history, jobs, listings, queues, timelines
from .context import JobContext
from .runner import RunInputs, run_job
from .search import Scope
from .state import DAILY

log = logging.getLogger(__name__)


class WorkUnfinished(RuntimeError):
    """The work stopped at the time limit or at the budget's reserve: SQS gives the message back for the next
    attempt (after `retry_in` seconds when the budget's reset is what it waits for)."""

    def __init__(self, message: str, retry_in: float | None = None):
        super().__init__(message)
        self.retry_in = retry_in


def _daily_check(message: dict, repos: tuple[str, ...]):
    day = message["day"]

    def check(ctx: JobContext) -> None:
        scope = Scope(message.get("terms") or f"repo:{ctx.settings.org}/{repos[0]}", repos)
        done = [DAILY.of(repo).value(ctx.session) for repo in scope.repos]
        if all(when is not None and when >= datetime.fromisoformat(day) for when in done):
            log.info("daily %s: already checked on %s", scope.label, day)
            return
        jobs.check_scope_daily(ctx, scope, completeness.daily_window(ctx))

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


def work(body: str, lambda_context=None, receipt_handle: str | None = None) -> None:
    """One queued message's work, recorded in job_runs as `daily_repo` or `backfill_repo`. Stopped at the
    budget's reserve, the message (`receipt_handle`) is handed back to be seen again after the budget's reset."""
    message = json.loads(body)
    kind = message["kind"]
    # A message queued before scopes names one `repo` (its scope is that repo's); one of a scope, its terms and
    # repos.
    repos = tuple(message["repos"]) if "repos" in message else (message["repo"],)
    if kind == "daily_check":
        name, job = "daily_repo", _daily_check(message, repos)
    elif kind == "backfill_events":
        name, job = "backfill_repo", _backfill_events(repos[0], message["since"], message["until"])
    else:
        raise ValueError(f"unknown repo work {kind!r}")
    ctx = run_job(name, lambda_context=lambda_context, job=job, inputs=RunInputs(repos=repos, fan_out_worker=True))
    if ctx.report.stopped_early:
        shown = repos[0] if len(repos) == 1 else f"{len(repos)} repos"
        retry_in = ctx.report.resume_in
        if retry_in is not None and receipt_handle:
            queues.hand_back_later(queues.queue_name(ctx.settings.stage, queues.REPO_WORK), receipt_handle, retry_in)
        why = "GitHub's budget reserve" if retry_in is not None else "the time limit"
        raise WorkUnfinished(f"{name} {shown} stopped at {why}: SQS hands the message back", retry_in)
