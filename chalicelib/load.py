"""The one load path: payloads mapped through an entity, upserted in one transaction, counted in the run's report.

- `load(ctx, entity, payloads, parent)`: one entity's payloads, mapped and stored in one transaction.
- `unit(ctx)`: one transaction over several tables (a timeline page with its ETag and read mark, a transfer
  with its deletes); inside it, `put(ctx, entity, rows)` upserts rows already mapped.
- `load_streamed(ctx, entity, batches)`: rows as they stream in, committed STORE_EVERY at a time, so memory does
  not grow with a listing (as sqlite-utils' `upsert_all` eats an iterable).
- `rows_of(ctx, entity, payloads, parent)`: the mapping alone; a payload that cannot be mapped is left out with a
  warning naming it, and the rest of its batch is stored.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

from sqlalchemy.orm import Session

from .context import JobContext
from .entities import Entity, Parent
from .store import UpsertCounts, committed, upsert

STORE_EVERY = 5000
MALFORMED = (KeyError, TypeError, ValueError, AttributeError)


def rows_of(ctx: JobContext, entity: Entity, payloads: Iterable, parent: Parent | None = None) -> list[dict]:
    """`entity.to_row` of each payload; one that cannot be mapped (no key, a time that is not a time, a list
    field that is not a list, text that is not valid Unicode) is left out with a warning naming it."""
    rows = []
    for payload in payloads:
        try:
            row = entity.to_row(payload, parent)
            if any(row.get(name) is None for name in entity.key):
                raise ValueError(f"no {'/'.join(entity.key)}")
        except MALFORMED as error:
            where = (payload.get("html_url") or payload.get("url")) if isinstance(payload, dict) else None
            ctx.report.skip(f"{entity.name}: skipped a malformed payload ({where or 'no URL'}): {error}")
            continue
        rows.append(row)
    return rows


@contextlib.contextmanager
def unit(ctx: JobContext) -> Iterator[Session]:
    """One unit of work: committed when the block ends, rolled back (and re-raised) when it fails; what `put`
    counted inside it reaches the report only if it commits."""
    with committed(ctx.session) as session:
        yield session


def put(ctx: JobContext, entity: Entity, rows: list[dict]) -> UpsertCounts:
    """Upsert mapped rows of one entity in the current unit and count them in the run's report."""
    counts = upsert(ctx.session, entity.model, rows, key=entity.key, replication_key=entity.replication_key)
    if rows:
        ctx.report.add(entity.name, counts)
    return counts


def load(ctx: JobContext, entity: Entity, payloads: Iterable, parent: Parent | None = None) -> list[dict]:
    """Map the payloads and store them in one transaction; returns the rows stored."""
    rows = rows_of(ctx, entity, payloads, parent)
    with unit(ctx):
        put(ctx, entity, rows)
    return rows


def load_streamed(ctx: JobContext, entity: Entity, batches: Iterable[list[dict]]) -> None:
    """Store mapped rows as they stream in, STORE_EVERY at a time, each chunk its own transaction."""
    rows: list[dict] = []
    for batch in batches:
        rows += batch
        if len(rows) >= STORE_EVERY:
            with unit(ctx):
                put(ctx, entity, rows)
            rows = []
    with unit(ctx):
        put(ctx, entity, rows)
