"""The jobs, each a short list of steps over the modules that fetch one thing each.

Adding a job: a function here taking the run's `JobContext`, an entry in `JOBS`, and an `@app.schedule` line in
`app.py`. The runner (`runner.run_job`) gives every job its context, records it in `job_runs` and alerts.
"""

from __future__ import annotations

from collections.abc import Callable

from . import completeness, digest, fanout, history, items, listing_proof, listings, members, timelines, transfers
from .config import Settings
from .context import JobContext
from .search import Scope
from .webhooks import redeliver


def every_30_min(ctx: JobContext) -> None:
    items.sync_recent(ctx)
    members.sync_members(ctx)
    transfers.reconcile_transfers(ctx)


def nrt_events(ctx: JobContext) -> None:
    changed = items.sync_changed(ctx)
    if per_item_timelines(ctx.settings):
        timelines.sync_timelines(ctx, changed.rows)
        items.remember_changes_read(ctx, changed)
    else:
        per_item = listings.Timelines(
            lambda chosen: timelines.sync_timelines(ctx, chosen), budget=lambda: timelines.spare_timelines(ctx)
        )
        events_read = listings.read_changes(ctx, items.changes_read_until(ctx) or changed.since, per_item, changed.rows)
        items.remember_changes_read(ctx, changed, events_read)
        listings.read_unread(ctx, per_item)
    timelines.read_unread(ctx)
    transfers.reconcile_transfers(ctx)


def daily(ctx: JobContext) -> None:
    if ctx.settings.fan_out:
        fanout.queue_daily_checks(ctx)
    else:
        window = completeness.daily_window(ctx)
        for scope in completeness.scopes_least_recently_checked(ctx):
            if not check_scope_daily(ctx, scope, window):
                break
    transfers.reconcile_transfers(ctx)
    redeliver.redeliver_failed(ctx)
    digest.publish_and_send(ctx)


def check_scope_daily(ctx: JobContext, scope: Scope, window) -> bool:
    """One search scope's completeness check, its missing items settled; False when the time limit cut it
    short."""
    check, missing = completeness.check_scope(ctx, scope, window)
    settled = transfers.settle_missing(ctx, missing)
    if ctx.report.stopped_early:
        return False
    check.removed, check.transferred = settled["removed"], settled["transferred"]
    completeness.record_check(ctx, scope, window, check)
    return True


def backfill(
    ctx: JobContext,
    plan: history.BackfillPlan,
    progress: Callable[[history.WindowDone], None],
    on_total: Callable[[int, int], None] | None = None,
) -> None:
    """The org's members (who counts as a maintainer), then every item created in the plan's period (and with
    `plan.events` their timelines), window by window; with `plan.events`, also the timelines of the period's items
    stored earlier without them (windows checkpointed by a run without `--events`). With `plan.fan_out` the repos'
    event listings are queued for the stage's functions instead of read here."""
    members.sync_members(ctx)
    for done in history.windows(ctx, plan, on_total):
        if plan.events and per_item_timelines(ctx.settings):
            timelines.sync_timelines(ctx, done.rows)
        history.checkpoint(ctx, done)
        progress(done)
    if plan.events and not per_item_timelines(ctx.settings) and plan.fan_out:
        fanout.queue_backfill_events(ctx, plan, history.repos_without_events(ctx, plan))
        return
    if plan.events and not per_item_timelines(ctx.settings):
        listings.read_period(
            ctx,
            history.repos_without_events(ctx, plan),
            plan.since,
            history.created_range(plan),
            listings.Timelines(lambda chosen: timelines.sync_timelines(ctx, chosen)),
            completed=lambda repo: history.checkpoint_events(ctx, plan, repo),
        )
    if plan.events:
        timelines.read_unread(ctx, created=history.created_range(plan), spare_only=False)


def per_item_timelines(settings: Settings) -> bool:
    """Events per item (one timeline each) when configured so, or when tracked types only timelines carry;
    otherwise per repo (listings) and reviews in bulk."""
    return settings.events_source == "timelines" or listing_proof.needs_timelines(settings)


JOBS: dict[str, Callable[[JobContext], None]] = {
    "every_30_min": every_30_min,
    "nrt_events": nrt_events,
    "daily": daily,
}
