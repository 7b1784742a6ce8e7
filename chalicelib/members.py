"""The org's members: who counts as a maintainer. Never deleted; those no longer listed are marked inactive."""

from __future__ import annotations

from sqlalchemy import func, select, update

from .context import JobContext
from .entities import MEMBERS
from .load import put, rows_of, unit
from .models import Member
from .state import MEMBERS_SYNCED
from .times import parse_timestamp

# When the members were last listed: the report needs them to tell maintainers from outsiders.


def sync_members(ctx: JobContext) -> None:
    """Store the org's members; mark those no longer listed inactive; reactivate returners."""
    payloads = ctx.api.list_members(ctx.settings.org)
    rows = rows_of(ctx, MEMBERS, payloads)
    with unit(ctx) as session:
        put(ctx, MEMBERS, rows)
        active = session.scalar(select(func.count()).select_from(Member).where(Member.inactive.is_not(True)))
        if not payloads and active:
            ctx.report.warn(
                "GitHub listed no org members: kept everyone active (check the token's "
                "org access: without it GitHub lists only public members)"
            )
        else:
            mark_inactive(ctx, Member.id.not_in([row["id"] for row in rows]))
    MEMBERS_SYNCED.advance(ctx.session, ctx.started)


def mark_inactive(ctx: JobContext, *where) -> None:
    """Members who left (those `where` picks), kept with the moment they left; their row hash is cleared so a
    returner's next listing stores them active again."""
    result = ctx.session.execute(
        update(Member)
        .where(*where, Member.inactive.is_not(True))
        .values(inactive=True, inactive_dt=parse_timestamp(ctx.started), row_hash=None)
    )
    ctx.report.count("deactivated", result.rowcount)
