"""Past one Lambda: daily's checks (one message per search scope) and backfill's per-repo event listings (one
per repo) as SQS messages (this module queues them; `repo_work` takes them), each taken by its own function
run, at most FAN_OUT_CONCURRENCY at once (app.py): GitHub allows about 100 concurrent requests a token, and each
run holds one database connection.

With `FAN_OUT=true`, a check that finds differences runs in its own function, not in daily's 300 seconds: the
checks are bound by GitHub's 30 searches a minute (two per consistent scope; one scope for an org searched with
`org:`, a scope per seven or so repos for a `repo:` list). Each message is idempotent: a scope whose repos were
all checked today, or a repo whose backfill events are checkpointed, is skipped, so a message SQS hands out
twice changes nothing. A run that stops at its time limit raises, so SQS gives the message back and the next
attempt continues (after its retries, the dead-letter queue keeps it).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC

from . import completeness, history, queues
from .context import JobContext

log = logging.getLogger(__name__)

SQS_BATCH = 10


def send(stage: str, messages: list[dict]) -> int:
    """Queue one message per repo (ten per SQS call); returns how many were queued."""
    sqs, url = queues.sqs(), queues.queue_url(queues.queue_name(stage, queues.REPO_WORK))
    for start in range(0, len(messages), SQS_BATCH):
        batch = messages[start : start + SQS_BATCH]
        entries = [{"Id": str(i), "MessageBody": json.dumps(m)} for i, m in enumerate(batch)]
        answer = sqs.send_message_batch(QueueUrl=url, Entries=entries)
        if answer.get("Failed"):
            reasons = "; ".join(f"{f.get('Code')}: {f.get('Message')}" for f in answer["Failed"][:3])
            raise RuntimeError(f"SQS refused {len(answer['Failed'])} repo messages ({reasons})")
    return len(messages)


def queue_daily_checks(ctx: JobContext) -> None:
    """daily's checks, one message per search scope (its repos least recently checked first), for the fan-out
    consumer."""
    day = f"{ctx.started:%Y-%m-%d}"
    messages = [
        {"kind": "daily_check", "terms": scope.terms, "repos": list(scope.repos), "day": day}
        for scope in completeness.scopes_least_recently_checked(ctx)
    ]
    log.info("daily: %d scope checks queued for the fan-out", send(ctx.settings.stage, messages))


def queue_backfill_events(ctx: JobContext, plan: history.BackfillPlan, repos: list[str]) -> None:
    """backfill's event listings, one message per repo whose events are not checkpointed yet."""
    since, until = plan.since.astimezone(UTC).isoformat(), plan.until.astimezone(UTC).isoformat()
    messages = [{"kind": "backfill_events", "repo": repo, "since": since, "until": until} for repo in repos]
    log.info("backfill: %d repos' event listings queued for the fan-out", send(ctx.settings.stage, messages))
