"""Small builders shared by the job tests."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from chalicelib.db import create_db_session
from chalicelib.models import JobRun
from tests.fake import item, user


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


# The API base that payloads name (as github.com's do), and the fake GitHub's own base with a token it accepts.
API = "https://api.github.com"
TEST_API = "https://api.github.test"
TOKEN = "ghp_secret_token_value"
# Outside contributors and maintainers the scenarios share.
ALICE, BOB, CAROL = user("alice", 501), user("bob", 502), user("carol", 503)
MARIA, LEO = user("maria", 601), user("leo", 602)
OLIVIA, OSCAR = user("olivia", 701), user("oscar", 702)


def last_run(db_url: str, job: str | None = None) -> JobRun:
    """The newest job_runs row (of `job`, if given)."""
    session = create_db_session(db_url)
    try:
        statement = select(JobRun).order_by(JobRun.id.desc()).limit(1)
        if job is not None:
            statement = statement.where(JobRun.job == job)
        return session.scalars(statement).one()
    finally:
        session.close()


def an_issue(**changes):
    payload = item(
        API,
        "acme",
        "widgets",
        7,
        item_id=7007,
        author=ALICE,
        created="2024-03-01T10:00:00Z",
        updated="2024-03-02T10:00:00Z",
        labels=["bug", "pending-response"],
        body="It breaks",
    )
    payload.update(changes)
    return payload


def a_pull_request(merged_at=None, **changes):
    payload = item(
        API,
        "acme",
        "widgets",
        8,
        item_id=8008,
        author=ALICE,
        created="2024-03-01T10:00:00Z",
        closed="2024-03-03T10:00:00Z",
        pr=True,
        merged=merged_at,
    )
    payload.update(changes)
    return payload


def closed_pull_requests(github, count: int, merged_every: int = 0) -> None:
    """`count` PRs in widgets, opened 30 weeks ago and closed 20 weeks ago, an hour apart (every
    `merged_every`-th one not merged, when given)."""
    for n in range(1, count + 1):
        merged = ago(weeks=20, hours=n) if merged_every and n % merged_every else None
        github.new_item(
            "widgets",
            n,
            item_id=n,
            author=ALICE,
            created=ago(weeks=30, hours=n),
            closed=ago(weeks=20, hours=n),
            pr=True,
            merged=merged,
        )


def point_db(monkeypatch, db_url: str) -> None:
    """The commands (report.py, backfill.py) pointed at a database."""
    monkeypatch.setenv("DB_URL", db_url)


def headless_chromium(binary: str, profile) -> list[str]:
    """Chromium without a screen, offline and quiet, on a profile of its own: the flags this machine needs (its
    background connections are refused by the closed network)."""
    return [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ]
