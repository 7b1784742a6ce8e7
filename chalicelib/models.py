"""The six tables of the original design, plus the port's bookkeeping, on PostgreSQL and SQLite.

Column names and types are the original's (a team's existing database keeps working). What the port adds:
`extra` (payload fields with no column, so nothing GitHub sends is lost), `row_hash` (lets an upsert skip
unchanged rows), indexes, and four bookkeeping tables. Alembic adds them to an existing database.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Text,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from .db import get_engine
from .insight import create_views

JsonObject = JSONB().with_variant(JSON(), "sqlite")
JsonArray = ARRAY(JSON()).with_variant(JSON(), "sqlite")
# SQLite only makes INTEGER PRIMARY KEY an alias of the rowid; BigInteger keys are fine as we always supply ids.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


def _str() -> Mapped[str | None]:
    return mapped_column(String, nullable=True)


def _ts() -> Mapped[datetime | None]:
    return mapped_column(DateTime, nullable=True)


class PortColumns:
    """Columns the port adds to every synced table."""

    extra: Mapped[dict | None] = mapped_column(JsonObject, nullable=True)
    row_hash: Mapped[str | None] = mapped_column(String(32), nullable=True)


class Member(PortColumns, Base):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    inserted_dt: Mapped[datetime | None] = mapped_column(DateTime, server_default=func.now())
    inactive_dt: Mapped[datetime | None] = _ts()
    inactive: Mapped[bool | None] = mapped_column(Boolean, default=False, server_default="false")
    avatar_url = _str()
    events_url = _str()
    followers_url = _str()
    following_url = _str()
    gists_url = _str()
    gravatar_id = _str()
    html_url = _str()
    login: Mapped[str | None] = mapped_column(String, unique=True)
    node_id = _str()
    organizations_url = _str()
    received_events_url = _str()
    repos_url = _str()
    site_admin: Mapped[bool | None] = mapped_column(Boolean)
    starred_url = _str()
    subscriptions_url = _str()
    type = _str()
    url = _str()


def _item_indexes(table: str) -> tuple[Index, ...]:
    """What the jobs and views filter and join issues and pull requests on."""
    return (
        Index(f"ix_{table}_repo_number", "repo", "number"),
        Index(f"ix_{table}_username", "username"),
        Index(f"ix_{table}_created_at", "created_at"),
        Index(f"ix_{table}_updated_at", "updated_at"),
        Index(f"ix_{table}_state", "state"),
    )


class ItemColumns(PortColumns):
    """The columns issues and pull requests share (both come from the search API's items)."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    url = _str()
    repo = _str()
    org = _str()
    repository_url = _str()
    labels_url = _str()
    comments_url = _str()
    events_url = _str()
    html_url = _str()
    node_id = _str()
    number: Mapped[int | None] = mapped_column(Integer)
    title = _str()
    user: Mapped[dict | None] = mapped_column(JsonObject)
    username = _str()
    labels: Mapped[list | None] = mapped_column(JsonArray)
    state = _str()
    state_reason = _str()
    locked: Mapped[bool | None] = mapped_column(Boolean)
    assignee: Mapped[dict | None] = mapped_column(JsonObject)
    assignees: Mapped[list | None] = mapped_column(JsonArray)
    milestone: Mapped[dict | None] = mapped_column(JsonObject)
    comments: Mapped[int | None] = mapped_column(Integer)
    created_at = _ts()
    updated_at = _ts()
    closed_at = _ts()
    author_association = _str()
    active_lock_reason = _str()
    body = _str()
    reactions: Mapped[dict | None] = mapped_column(JsonObject)
    timeline_url = _str()
    performed_via_github_app = _str()


class Issue(ItemColumns, Base):
    __tablename__ = "issues"
    __table_args__ = _item_indexes("issues")

    score: Mapped[float | None] = mapped_column(Float)


class PullRequest(ItemColumns, Base):
    __tablename__ = "pull_requests"
    __table_args__ = _item_indexes("pull_requests")

    # Older payloads' `pull_request` has no `merged_at`: NULL then means "cannot tell", not "not merged".
    merged: Mapped[bool | None] = mapped_column(Boolean, info={"keep_when_null": True})
    draft: Mapped[bool | None] = mapped_column(Boolean)
    pull_request: Mapped[dict | None] = mapped_column(JsonObject)
    score: Mapped[float | None] = mapped_column(Float)


class Event(PortColumns, Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_issue_id", "issue_id"),
        Index("ix_events_created_at", "created_at"),
        Index("ix_events_username", "username"),
        Index("ix_events_repo_event", "repo", "event"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    issue_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    org = _str()
    repo = _str()
    event = _str()
    body = _str()
    label: Mapped[dict | None] = mapped_column(JsonObject)
    reactions: Mapped[dict | None] = mapped_column(JsonObject)
    state = _str()
    created_at = _ts()
    updated_at = _ts()
    node_id = _str()
    user: Mapped[dict | None] = mapped_column(JsonObject)
    author_association = _str()
    username = _str()


class EventPoll(Base):
    """The ETag of each timeline page; `page_size` (a port addition) tells whether a page was full."""

    __tablename__ = "event_polls"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    page_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    issue_updated_at = _ts()
    etag = _str()
    page_size: Mapped[int | None] = mapped_column(Integer)
    row_hash: Mapped[str | None] = mapped_column(String(32), nullable=True)


class TimelineRead(Base):
    """An item whose timeline was read whole at least once (`outcome` read), or found gone (404/410) or refused
    (a URL off the API), so coverage can tell "nobody answered" from "we never looked"."""

    __tablename__ = "timeline_reads"

    item_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    outcome: Mapped[str] = mapped_column(String(10), default="read")
    item_updated_at = _ts()
    read_at = _ts()
    row_hash: Mapped[str | None] = mapped_column(String(32), nullable=True)


class Transfer(PortColumns, Base):
    __tablename__ = "transfers"

    issue_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    new_issue_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    url = _str()
    number: Mapped[int | None] = mapped_column(Integer)
    repo = _str()
    title = _str()
    body = _str()
    created_at = _ts()
    closed_at = _ts()
    state = _str()
    org = _str()
    assignee: Mapped[dict | None] = mapped_column(JsonObject)
    assignees: Mapped[list | None] = mapped_column(JsonArray)
    labels: Mapped[list | None] = mapped_column(JsonArray)
    new_repo = _str()
    new_html_url = _str()
    new_url = _str()
    new_number: Mapped[int | None] = mapped_column(Integer)
    user: Mapped[dict | None] = mapped_column(JsonObject)
    username = _str()


class SyncState(Base):
    """Watermarks of incremental queries: a value per name, written only after the work it covers committed."""

    __tablename__ = "sync_state"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[datetime | None] = mapped_column(DateTime)


class ListingPage(Base):
    """A listing page's validator: its ETag and what a walk needs of it to go on past a 304 (the next page, how
    many entries it held and the span of their `created_at`). `scope` names the repo (or org) the page lists,
    `fingerprint` what the walk that read it knew (the repo's stored items, the tracked event types) and `since`
    where that walk started: a 304 vouches only for what that walk stored, so a page is asked conditionally only
    by a walk that knows the same and starts no earlier. `entries` holds, for a listing a 304 must give back (the
    org's repos), what the page listed."""

    __tablename__ = "listing_pages"
    __table_args__ = (Index("ix_listing_pages_scope", "scope"),)

    url: Mapped[str] = mapped_column(String(1000), primary_key=True)
    scope: Mapped[str] = mapped_column(String(300))
    fingerprint: Mapped[str] = mapped_column(String(40))
    since: Mapped[datetime | None] = _ts()
    etag: Mapped[str] = mapped_column(String(200))
    next_url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    size: Mapped[int] = mapped_column(Integer, default=0)
    oldest: Mapped[datetime | None] = _ts()
    newest: Mapped[datetime | None] = _ts()
    entries: Mapped[list | None] = mapped_column(JsonObject, nullable=True)
    read_at: Mapped[datetime | None] = _ts()


class BackfillCheckpoint(Base):
    """A backfill window that was stored completely, so a resumed run skips it."""

    __tablename__ = "backfill_checkpoints"

    repo: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    window_end: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    items: Mapped[int] = mapped_column(Integer, default=0)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime, server_default=func.now())


class TransferCheck(Base):
    """A pair of look-alike issues already asked about, so the same pair is not fetched every run."""

    __tablename__ = "transfer_checks"

    issue_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    twin_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    outcome: Mapped[str] = mapped_column(String(20))
    checked_at: Mapped[datetime | None] = mapped_column(DateTime, server_default=func.now())


class WebhookDelivery(Base):
    """A webhook delivery applied (or found nothing to store), by GitHub's `X-GitHub-Delivery`: the consumer applies
    each once, so SQS's at-least-once and GitHub's redeliveries change nothing twice."""

    __tablename__ = "webhook_deliveries"

    delivery_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event: Mapped[str] = mapped_column(String(60))
    action: Mapped[str | None] = mapped_column(String(60))
    repo: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(40))
    applied_at: Mapped[datetime | None] = mapped_column(DateTime, server_default=func.now())


class JobRun(Base):
    """One row per job run: `SELECT max(finished_at) FROM job_runs WHERE job = ... AND status = 'ok'`."""

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job_started", "job", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(50))
    stage: Mapped[str | None] = mapped_column(String(50))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(20))
    counts: Mapped[dict | None] = mapped_column(JsonObject)
    error: Mapped[str | None] = mapped_column(Text)


def stored_among(session: Session, column, values: list) -> set:
    """Those of `values` that `column` holds, asked 1,000 at a time (a bound on the parameters of one query)."""
    found: set = set()
    for start in range(0, len(values), 1000):
        found |= set(session.scalars(select(column).where(column.in_(values[start : start + 1000]))))
    return found


def read_item_ids(session: Session, ids: list[int]) -> set[int]:
    """Those of `ids` whose events are recorded as read whole (`timeline_reads`)."""
    return stored_among(session, TimelineRead.item_id, ids)


def create_all(db_url: str) -> None:
    """Create every table, index and view that does not exist yet (a fresh database; existing ones use Alembic)."""
    engine = get_engine(db_url)
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        create_views(connection)
