"""Incremental state (`sync_state`): one named `Cursor` per piece, each declared here, written only after the work
it covers. A cursor family (`DAILY.of(repo)`) keeps one value per key under the family's name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from .models import BackfillCheckpoint, SyncState
from .times import parse_timestamp


@dataclass(frozen=True)
class Cursor:
    """A moment up to which some work is done, kept under `name`."""

    name: str

    def of(self, key: str) -> Cursor:
        """This family's cursor for one key (a repo, a query, a day)."""
        return Cursor(f"{self.name}:{key}")

    def value(self, bind: Session | Connection) -> datetime | None:
        """The cursor's moment, read in a session or on a plain connection (the report's)."""
        return bind.execute(select(SyncState.value).where(SyncState.name == self.name)).scalar()

    def advance(self, session: Session, to: datetime) -> None:
        """Set and commit (the work it covers is committed before)."""
        state = session.get(SyncState, self.name) or SyncState(name=self.name)
        state.value = parse_timestamp(to)
        session.add(state)
        session.commit()

    def clear(self, session: Session) -> None:
        session.execute(delete(SyncState).where(SyncState.name == self.name))
        session.commit()


# every_30_min: the start of its last complete cycle; an unfinished cycle's start and its search windows' progress.
ITEMS = Cursor("every_30_min")
ITEMS_CYCLE = Cursor("every_30_min:cycle")
ITEMS_WINDOWS = Cursor("every_30_min:window")
# nrt_events: the start of its last run that read every change.
CHANGES = Cursor("nrt_events")
# When the org's members were last synced (the report says whether maintainers can be told from outsiders).
MEMBERS_SYNCED = Cursor("members")
# daily: per repo, when its completeness check last finished whole.
DAILY = Cursor("daily")
# Per repo: when its listings were last read whole (nrt_events), and how far back they were walked for items
# never read.
LISTINGS = Cursor("listings")
LISTINGS_COVERED = Cursor("listings-covered")
# Per day: that the digest was sent (claimed before sending, so two runs never both send).
DIGEST_SENT = Cursor("digest")


def progress_mark(session: Session) -> tuple:
    """Everything a job's progress lives in (cursors, backfill checkpoints), to tell afterwards whether a run
    moved any of it."""
    watermarks = tuple(session.execute(select(SyncState.name, SyncState.value).order_by(SyncState.name)).all())
    checkpoints = session.execute(select(func.count(), func.max(BackfillCheckpoint.completed_at))).one()
    return watermarks, tuple(checkpoints)
