"""Small builders shared by the job tests."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from chalicelib.models import create_db_session


def ago(**delta) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def count(db_url: str, model, *where) -> int:
    session = create_db_session(db_url)
    try:
        return session.scalar(select(func.count()).select_from(model).where(*where))
    finally:
        session.close()


def fetch(db_url: str, model, key):
    session = create_db_session(db_url)
    try:
        return session.get(model, key)
    finally:
        session.close()


def rows(db_url: str, model, *where) -> list:
    session = create_db_session(db_url)
    try:
        return list(session.scalars(select(model).where(*where)))
    finally:
        session.close()


def mails_sent(ses_client) -> int:
    return int(ses_client.get_send_quota()["SentLast24Hours"])
