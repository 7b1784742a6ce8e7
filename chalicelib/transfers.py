"""Issues moved to another repo (GitHub answers 301 at the old URL) and items deleted on GitHub (404/410)."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta

from sqlalchemy import and_, delete, exists, or_, select
from sqlalchemy.orm import aliased

from .context import JobContext
from .entities import TRANSFERS, org_and_repo
from .github import IssueLocation
from .load import put, unit
from .models import Event, EventPoll, Issue, TimelineRead, TransferCheck
from .times import parse_timestamp

log = logging.getLogger(__name__)

# A pair whose new issue was not stored yet is asked about again after this long.
RECHECK_MOVED_AFTER = timedelta(hours=6)
NO_TWIN = 0


def row_as_dict(obj) -> dict:
    return {column.name: getattr(obj, column.name) for column in obj.__table__.columns}


def delete_item(ctx: JobContext, model, item_id: int) -> None:
    ctx.session.execute(delete(Event).where(Event.issue_id == item_id))
    ctx.session.execute(delete(EventPoll).where(EventPoll.id == item_id))
    ctx.session.execute(delete(TimelineRead).where(TimelineRead.item_id == item_id))
    ctx.session.execute(delete(model).where(model.id == item_id))


def _remember(ctx: JobContext, issue_id: int, twin_id: int, outcome: str) -> None:
    pair = ctx.session.get(TransferCheck, (issue_id, twin_id)) or TransferCheck(issue_id=issue_id, twin_id=twin_id)
    pair.outcome = outcome
    pair.checked_at = parse_timestamp(ctx.started)
    ctx.session.add(pair)


def apply_location(ctx: JobContext, model, old, check: IssueLocation, twin_id: int = NO_TWIN) -> str:
    """Act on what GitHub said of an item's URL, in one transaction; returns what was done: `transferred`,
    `removed`, `waiting` (moved to an issue of a tracked repo not stored yet) or `present`. An issue moved to a
    repo we do not track is recorded as transferred and retired at once: nothing would ever store its twin."""
    with unit(ctx) as session:
        if check.outcome == "gone":
            delete_item(ctx, model, old.id)
            ctx.report.count("removed")
            log.warning("%s answers %s: deleted on GitHub, removed with its events", old.url, check.status)
            return "removed"
        if check.outcome == "present":
            _remember(ctx, old.id, twin_id, "present")
            return "present"
        new_org, new_repo = org_and_repo(check.new_issue.get("repository_url"))
        tracked = new_org == ctx.settings.org and new_repo in ctx.repos
        if tracked and session.get(Issue, check.new_issue["id"]) is None:
            log.info(
                "issue %s moved to %s, which is not stored yet: left for a later run",
                old.url,
                check.new_issue.get("url"),
            )
            _remember(ctx, old.id, twin_id, "moved_unstored")
            return "waiting"
        put(ctx, TRANSFERS, [TRANSFERS.to_row(check.new_issue, row_as_dict(old))])
        delete_item(ctx, model, old.id)
        ctx.report.count("transferred")
        log.info("issue %s was transferred to %s", old.url, check.new_issue.get("url"))
        return "transferred"


def transfer_candidates(ctx: JobContext) -> list[tuple[Issue, int]]:
    """Pairs of stored issues with the same author and creation time, not already settled.

    That is how a transfer looks from our side: the old row stays while search brings in the new one.
    """
    old, twin = aliased(Issue), aliased(Issue)
    recheck_before = parse_timestamp(ctx.started - RECHECK_MOVED_AFTER)
    settled = exists().where(
        TransferCheck.issue_id == old.id,
        TransferCheck.twin_id == twin.id,
        or_(TransferCheck.outcome == "present", TransferCheck.checked_at > recheck_before),
    )
    statement = (
        select(old, twin.id)
        .join(twin, and_(old.username == twin.username, old.created_at == twin.created_at, old.id != twin.id))
        .where(~settled)
        .order_by(old.id, twin.id)
    )
    return [(old_row, twin_id) for old_row, twin_id in ctx.session.execute(statement)]


def reconcile_transfers(ctx: JobContext) -> None:
    """Each candidate's old URL asked once a run: a bot that opens issues in many repos in the same second makes
    every pair of them a candidate, but what an issue's URL says does not depend on its twin."""
    handled: set[int] = set()
    present: dict[int, IssueLocation] = {}
    for old, twin_id in transfer_candidates(ctx):
        if old.id in handled:
            continue
        if ctx.out_of_time():
            return
        check = present.get(old.id) or ctx.api.issue_location(old.url)
        apply_location(ctx, Issue, old, check, twin_id)
        if check.outcome == "present":
            present[old.id] = check
        else:
            handled.add(old.id)


def settle_missing(ctx: JobContext, rows: list[dict]) -> Counter:
    """Stored items that search no longer returns: each is asked for once (moved, deleted, or still there).

    Returns how many of each outcome (`apply_location`'s words)."""
    outcomes: Counter = Counter()
    for row in rows:
        if ctx.out_of_time():
            break
        model = row["model"]
        stored = ctx.session.get(model, row["id"])
        if stored is not None:
            outcomes[apply_location(ctx, model, stored, ctx.api.issue_location(row["url"]))] += 1
    return outcomes
