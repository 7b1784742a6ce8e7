"""Watermarks of incremental work (`sync_state`): a value per name, written only after the work it covers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from .models import BackfillCheckpoint, SyncState
from .times import parse_timestamp


def read_watermark(session: Session, name: str) -> datetime | None:
    state = session.get(SyncState, name)
    return state.value if state else None


def write_watermark(session: Session, name: str, value: datetime) -> None:
    state = session.get(SyncState, name) or SyncState(name=name)
    state.value = parse_timestamp(value)
    session.add(state)
    session.commit()


def clear_watermarks(session: Session, prefix: str) -> None:
    """Forget every watermark whose name starts with `prefix` (a finished cycle's progress)."""
    session.execute(delete(SyncState).where(SyncState.name.startswith(prefix)))
    session.commit()


def progress_mark(session: Session) -> tuple:
    """Everything a job's progress lives in (watermarks, cursors, backfill checkpoints), to tell afterwards
    whether a run moved any of it."""
    watermarks = tuple(session.execute(select(SyncState.name, SyncState.value).order_by(SyncState.name)).all())
    checkpoints = session.execute(select(func.count(), func.max(BackfillCheckpoint.completed_at))).one()
    return watermarks, tuple(checkpoints)
