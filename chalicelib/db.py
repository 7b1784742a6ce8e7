"""The database's lifecycle: one engine per URL per process, sessions, and the migration every job runs first."""

from __future__ import annotations

import functools
from pathlib import Path

import orjson
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from .config import normalized_db_url

# sqlite3 keeps 128 prepared statements per connection by default. A batch upsert of N rows is a statement of its
# own (N rows of bound values, megabytes once prepared), so a load's varied batch sizes filled that cache with
# them and memory grew with the org. Eight keep the few statements a job repeats.
SQLITE_CACHED_STATEMENTS = 8


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _json_serializer(value) -> str:
    return orjson.dumps(value, default=str).decode()


def get_engine(db_url: str) -> Engine:
    """One engine per URL per process (warm Lambda invocations reuse its pool); any form of URL users have
    (`postgresql://`, `postgres://`, `postgresql+psycopg2://`, `sqlite:///`) is accepted."""
    return _engine(normalized_db_url(db_url))


@functools.lru_cache(maxsize=8)
def _engine(db_url: str) -> Engine:
    if db_url.startswith("sqlite"):
        engine = create_engine(
            db_url,
            pool_pre_ping=True,
            json_serializer=_json_serializer,
            connect_args={"timeout": 30, "cached_statements": SQLITE_CACHED_STATEMENTS},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(db_url, pool_pre_ping=True, pool_size=5, max_overflow=5, json_serializer=_json_serializer)


def create_db_session(db_url: str) -> Session:
    return sessionmaker(bind=get_engine(db_url), expire_on_commit=False)()


MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed number: jobs starting together on a fresh database take turns migrating it.
MIGRATION_LOCK = 72_310_001


def upgrade_database(db_url: str) -> None:
    """`alembic upgrade head` on this database: what the jobs run first, so any starting point just works."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with get_engine(db_url).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
