"""GitHub never retries a failed webhook delivery by itself. `daily` lists the hook's failed deliveries of the
last three days and asks GitHub to send again each one this app has not applied, so an outage of the route (or
of SQS) costs a day's delay, not the data; polling stays on as the net under both.

The hook is the App's (asked with the App's JWT) when GITHUB_APP_ID is set, or the org webhook WEBHOOK_HOOK_ID
(asked with the token, which then needs `admin:org_hook`).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from ..context import JobContext
from ..github import GitHubAPIError
from ..github.app_auth import AppInstallation
from ..models import WebhookDelivery, stored_among
from ..times import parse_timestamp

log = logging.getLogger(__name__)

LOOKBACK = timedelta(days=3)
# Redeliveries asked per run at most: a long outage is caught up over a few days rather than in one burst.
MAX_REDELIVERIES = 200


def _hook(ctx: JobContext):
    """(the client to ask, the hook's path), or None when no hook is configured."""
    settings, credentials = ctx.settings, ctx.api.credentials
    if isinstance(credentials, AppInstallation):
        return credentials.app_client(ctx.deadline.remaining), ctx.api.hook_path(settings.org)
    if settings.webhook_hook_id:
        return ctx.api, ctx.api.hook_path(settings.org, settings.webhook_hook_id)
    return None


def _applied(ctx: JobContext, guids: list[str]) -> set[str]:
    """Those of `guids` this app applied (GitHub recorded a failure after the delivery was queued, or it has been
    redelivered since)."""
    return stored_among(ctx.session, WebhookDelivery.delivery_id, guids)


def redeliver_failed(ctx: JobContext) -> int:
    """Ask GitHub to send again the failed deliveries not applied here; returns how many were asked."""
    hook = _hook(ctx)
    if hook is None:
        return 0
    client, path = hook
    try:
        failed = client.failed_hook_deliveries(path, parse_timestamp(ctx.started - LOOKBACK))
        applied = _applied(ctx, sorted({d["guid"] for d in failed}))
        asked, seen = 0, set()
        for delivery in failed:
            if delivery["guid"] in applied | seen or asked >= MAX_REDELIVERIES:
                continue
            seen.add(delivery["guid"])
            client.redeliver(path, delivery["id"])
            asked += 1
    except GitHubAPIError as error:
        ctx.report.warn(f"failed webhook deliveries could not be asked again: {error}")
        return 0
    if asked:
        log.info("asked GitHub to redeliver %d failed webhook deliveries of the last %d days", asked, LOOKBACK.days)
    return asked
