"""The queue consumer's Lambda entry: a context like a job's (settings, database, a GitHub client only used for
the rare delivery read again), without a `job_runs` row per batch: `webhook_deliveries` records each delivery."""

from __future__ import annotations

from ..config import get_db_url, get_settings
from ..context import Deadline, JobContext
from ..db import create_db_session, upgrade_database
from ..github.app_auth import github_credentials
from ..runner import build_api
from .apply import apply_messages

_migrated: set[str] = set()


def consume(messages: list[str], lambda_context=None) -> dict[str, int]:
    """Apply a batch of queued deliveries (raises DeliveryFailed if any could not be, for SQS to retry)."""
    settings, db_url = get_settings(), get_db_url()
    if db_url not in _migrated:
        upgrade_database(db_url)
        _migrated.add(db_url)
    deadline = Deadline.for_run(lambda_context, settings.local_time_budget.total_seconds())
    api = build_api(settings, github_credentials(settings, quiet=True), deadline)
    session = create_db_session(db_url)
    ctx = JobContext(settings, api, session, deadline, settings.repos)
    ctx.report.watch(session)
    try:
        return apply_messages(ctx, messages)
    finally:
        session.close()
