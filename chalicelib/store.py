"""The one write path: batched INSERT ... ON CONFLICT upserts that skip unchanged and stale rows."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from sqlalchemy import and_, literal_column, or_, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

# Rows per statement: SQLAlchemy's "insertmanyvalues" turns each into few multi-row INSERTs, compiled once.
BATCH_ROWS = 1000


@dataclass
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: "UpsertCounts") -> "UpsertCounts":
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self

    @property
    def written(self) -> int:
        return self.inserted + self.updated


def _newest_per_key(rows: Iterable[dict], key: list[str]) -> list[dict]:
    """One row per key (a statement may not touch a row twice), keeping the newest, sorted by key.

    Sorting makes concurrent writers lock rows in the same order, so they queue instead of deadlocking.
    """
    chosen: dict[tuple, dict] = {}
    for row in rows:
        row_key = tuple(row[k] for k in key)
        kept = chosen.get(row_key)
        if kept is None or (row.get("updated_at") or datetime.min) >= (kept.get("updated_at") or datetime.min):
            chosen[row_key] = row
    return [chosen[k] for k in sorted(chosen)]


def upsert(session: Session, model, rows: Iterable[dict]) -> UpsertCounts:
    """Insert new rows; update a stored row only when the incoming one differs and is not older.

    Runs inside the caller's transaction: the caller commits, so a failure rolls back the whole unit of work.
    """
    table = model.__table__
    key = [column.name for column in table.primary_key]
    rows = _newest_per_key(rows, key)
    counts = UpsertCounts()
    if not rows:
        return counts
    dialect = session.get_bind().dialect.name
    for start in range(0, len(rows), BATCH_ROWS):
        counts += _upsert_batch(session, table, key, rows[start:start + BATCH_ROWS], dialect)
    return counts


def _upsert_batch(session: Session, table, key: list[str], batch: list[dict], dialect: str) -> UpsertCounts:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table)
    excluded = statement.excluded
    changed = table.c.row_hash.is_distinct_from(excluded.row_hash)
    if "updated_at" in table.c:
        changed = and_(changed, or_(table.c.updated_at.is_(None), excluded.updated_at.is_(None),
                                    excluded.updated_at >= table.c.updated_at))
    statement = statement.on_conflict_do_update(
        index_elements=key,
        set_={name: excluded[name] for name in batch[0] if name not in key},
        where=changed,
    )
    if dialect == "postgresql":
        flags = session.execute(statement.returning(literal_column("xmax = 0")), batch).scalars().all()
        inserted = sum(1 for flag in flags if flag)
        return UpsertCounts(inserted, len(flags) - inserted, len(batch) - len(flags))
    existing = _existing_keys(session, table, key, batch)
    written = session.execute(statement.returning(*[table.c[k] for k in key]), batch).all()
    inserted = sum(1 for row in written if tuple(row) not in existing)
    return UpsertCounts(inserted, len(written) - inserted, len(batch) - len(written))


def _existing_keys(session: Session, table, key: list[str], batch: list[dict]) -> set[tuple]:
    columns = [table.c[k] for k in key]
    wanted = [tuple(row[k] for k in key) for row in batch]
    found = session.execute(select(*columns).where(tuple_(*columns).in_(wanted))).all()
    return {tuple(row) for row in found}
