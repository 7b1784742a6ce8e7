"""The one write path: batched INSERT ... ON CONFLICT upserts that skip unchanged and stale rows."""

from __future__ import annotations

import contextlib
import functools
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import JSON, Column, MetaData, Table, and_, case, func, literal_column, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

# Rows per statement: SQLAlchemy's "insertmanyvalues" turns each into few multi-row INSERTs, compiled once.
BATCH_ROWS = 1000


@dataclass
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: UpsertCounts) -> UpsertCounts:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self

    @property
    def written(self) -> int:
        return self.inserted + self.updated


@contextlib.contextmanager
def committed(session: Session) -> Iterator[Session]:
    """One unit of work: committed when the block ends, rolled back (and re-raised) when it fails."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def _newest_per_key(rows: Iterable[dict], key: list[str], replication_key: str | None) -> list[dict]:
    """One row per key (a statement may not touch a row twice), keeping the newest, sorted by key.

    Sorting makes concurrent writers lock rows in the same order, so they queue instead of deadlocking.
    """
    chosen: dict[tuple, dict] = {}
    for row in rows:
        row_key = tuple(row[k] for k in key)
        kept = chosen.get(row_key)
        if (
            kept is None
            or replication_key is None
            or (row.get(replication_key) or datetime.min) >= (kept.get(replication_key) or datetime.min)
        ):
            chosen[row_key] = row
    return [chosen[k] for k in sorted(chosen)]


def upsert(
    session: Session,
    model,
    rows: Iterable[dict],
    *,
    key: tuple[str, ...] | None = None,
    replication_key: str | None = "updated_at",
) -> UpsertCounts:
    """Insert new rows; update a stored row only when the incoming one differs and is not older than it by
    `replication_key`. `key` must be the table's primary key or another unique constraint (default: the PK).

    Runs inside the caller's transaction: the caller commits, so a failure rolls back the whole unit of work.
    """
    table = model.__table__
    key = list(key or (column.name for column in table.primary_key))
    rows = _newest_per_key(rows, key, replication_key)
    counts = UpsertCounts()
    if not rows:
        return counts
    dialect = session.get_bind().dialect.name
    for start in range(0, len(rows), BATCH_ROWS):
        counts += _upsert_batch(session, table, key, rows[start : start + BATCH_ROWS], dialect, replication_key)
    return counts


def _conflict_update(statement, table, key: list[str], columns: list[str], replication_key: str | None):
    """ON CONFLICT: overwrite the row only when the incoming one differs and is not older (one without a
    replication key is never newer than one with it). A column marked `info={"keep_when_null": True}` keeps its
    stored value when the incoming row cannot tell (NULL)."""
    excluded = statement.excluded
    changed = table.c.row_hash.is_distinct_from(excluded.row_hash)
    if replication_key is not None and replication_key in table.c:
        stored, incoming = table.c[replication_key], excluded[replication_key]
        changed = and_(changed, or_(stored.is_(None), and_(incoming.is_not(None), incoming >= stored)))
    values = {
        name: func.coalesce(excluded[name], table.c[name])
        if table.c[name].info.get("keep_when_null")
        else excluded[name]
        for name in columns
        if name not in key
    }
    return statement.on_conflict_do_update(index_elements=key, set_=values, where=changed)


def _upsert_batch(
    session: Session, table, key: list[str], batch: list[dict], dialect: str, replication_key: str | None
) -> UpsertCounts:
    if dialect == "postgresql":
        return _upsert_batch_postgresql(session, table, key, batch, replication_key)
    statement = _conflict_update(sqlite.insert(table), table, key, list(batch[0]), replication_key)
    existing = _existing_keys(session, table, key, batch)
    written = session.execute(statement.returning(*[table.c[k] for k in key]), batch).all()
    inserted = sum(1 for row in written if tuple(row) not in existing)
    return UpsertCounts(inserted, len(written) - inserted, len(batch) - len(written))


# COPY text format: backslash, tab, newline and carriage return are escaped; \N is NULL.
_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_COPY_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


# PostgreSQL text and JSONB cannot hold NUL; GitHub text occasionally does. It becomes U+FFFD.
_NUL, _JSON_NUL = "\x00", "\\u0000"


def _copy_text(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, (dict, list)):
        value = orjson.dumps(value, default=str).decode()
        if _JSON_NUL in value:
            value = value.replace(_JSON_NUL, "\\ufffd")
    elif isinstance(value, datetime):
        return value.isoformat()
    elif not isinstance(value, str):
        return str(value)
    elif _NUL in value:
        value = value.replace(_NUL, "\ufffd")
    if _COPY_SPECIAL.search(value) is None:
        return value
    return _COPY_SPECIAL.sub(lambda match: _COPY_ESCAPES[match.group()], value)


def _is_json_array(column) -> bool:
    return isinstance(column.type, ARRAY) or isinstance(getattr(column.type, "impl", None), ARRAY)


@functools.lru_cache(maxsize=64)
def _copy_plan(table, key: tuple[str, ...], columns: tuple[str, ...], replication_key: str | None):
    """The staging table's DDL and the INSERT ... SELECT from it, built once per table and column set (so
    SQLAlchemy compiles the statement once, too)."""
    stage = f"stage_{table.name}"
    definitions = ", ".join(
        f'"{c.name}" ' + ("json" if _is_json_array(c) else c.type.compile(dialect=postgresql.dialect()))
        for c in (table.c[name] for name in columns)
    )
    ddl = f'CREATE TEMPORARY TABLE IF NOT EXISTS "{stage}" ({definitions}) ON COMMIT DELETE ROWS'
    staged = Table(
        stage,
        MetaData(),
        *[Column(name, JSON if _is_json_array(table.c[name]) else table.c[name].type) for name in columns],
    )
    selected = [
        case(
            (staged.c[name].is_(None), None),
            else_=literal_column(f'ARRAY(SELECT json_array_elements("{stage}"."{name}"))'),
        )
        if _is_json_array(table.c[name])
        else staged.c[name]
        for name in columns
    ]
    statement = _conflict_update(
        postgresql.insert(table).from_select(list(columns), select(*selected)),
        table,
        list(key),
        list(columns),
        replication_key,
    )
    return stage, ddl, statement.returning(literal_column("xmax = 0"))


def _upsert_batch_postgresql(
    session: Session, table, key: list[str], batch: list[dict], replication_key: str | None
) -> UpsertCounts:
    """COPY the batch into a per-connection staging table, then one INSERT ... SELECT ... ON CONFLICT: far
    less work per row for the driver and the server than a multi-row VALUES statement."""
    columns = tuple(batch[0])
    stage, ddl, statement = _copy_plan(table, tuple(key), columns, replication_key)
    cursor = session.connection().connection.dbapi_connection.cursor()
    cursor.execute(ddl)
    buffer = io.StringIO()
    for row in batch:
        buffer.write("\t".join(_copy_text(row[name]) for name in columns))
        buffer.write("\n")
    buffer.seek(0)
    quoted = ", ".join(f'"{name}"' for name in columns)
    cursor.copy_expert(f'COPY "{stage}" ({quoted}) FROM STDIN', buffer)
    flags = session.execute(statement).scalars().all()
    cursor.execute(f'DELETE FROM "{stage}"')
    inserted = sum(1 for flag in flags if flag)
    return UpsertCounts(inserted, len(flags) - inserted, len(batch) - len(flags))


def _existing_keys(session: Session, table, key: list[str], batch: list[dict]) -> set[tuple]:
    """The batch's keys already stored. Selects by the key's leading column alone: SQLite cannot use an index for
    a row-value IN, and a scan of the whole table per batch made loads quadratic in the table's size."""
    wanted = {tuple(row[k] for k in key) for row in batch}
    leading = table.c[key[0]]
    found = session.execute(select(*[table.c[k] for k in key]).where(leading.in_({k[0] for k in wanted}))).all()
    return {tuple(row) for row in found} & wanted
