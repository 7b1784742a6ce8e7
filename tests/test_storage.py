"""Models and the upsert path, on SQLite and on a real PostgreSQL."""

import os
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, select, text

from chalicelib.db import upgrade_database
from chalicelib.entities import event_row, issue_row, member_row, pull_request_row, transfer_row
from chalicelib.models import Event, Issue, Member, PullRequest, Transfer, create_all
from chalicelib.store import upsert
from tests.fake import reactions, user
from tests.helpers import ALICE, API, a_pull_request, an_issue


def test_issue_round_trip_keeps_every_field(session):
    counts = upsert(session, Issue, [issue_row(an_issue())])
    session.commit()
    stored = session.get(Issue, 7007)
    assert counts.inserted == 1
    assert (stored.org, stored.repo, stored.username, stored.number) == ("acme", "widgets", "alice", 7)
    assert [label["name"] for label in stored.labels] == ["bug", "pending-response"]
    assert stored.assignees == [] and stored.reactions["total_count"] == 0
    assert stored.created_at == datetime(2024, 3, 1, 10, 0, 0)
    assert stored.extra["sub_issues_summary"] == {"total": 0, "completed": 0, "percent_completed": 0}


def test_deleted_account_is_stored_with_no_username(session):
    upsert(session, Issue, [issue_row(an_issue(user=None))])
    session.commit()
    stored = session.get(Issue, 7007)
    assert stored.user is None and stored.username is None


def test_pull_request_merged_state_comes_from_merged_at(session):
    upsert(
        session,
        PullRequest,
        [
            pull_request_row(a_pull_request(merged_at="2024-03-03T10:00:00Z")),
            pull_request_row(a_pull_request(id=8009, number=9)),
        ],
    )
    session.commit()
    assert session.get(PullRequest, 8008).merged is True
    assert session.get(PullRequest, 8009).merged is False
    assert session.get(PullRequest, 8008).pull_request["merged_at"] == "2024-03-03T10:00:00Z"


def test_same_upsert_twice_changes_nothing(session):
    rows = [issue_row(an_issue())]
    upsert(session, Issue, rows)
    session.commit()
    again = upsert(session, Issue, rows)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)


def test_newer_payload_wins_and_older_is_ignored(session):
    upsert(session, Issue, [issue_row(an_issue())])
    newer = upsert(session, Issue, [issue_row(an_issue(title="Renamed", updated_at="2024-03-05T00:00:00Z"))])
    older = upsert(session, Issue, [issue_row(an_issue(title="Stale", updated_at="2024-03-01T12:00:00Z"))])
    session.commit()
    assert newer.updated == 1 and older.unchanged == 1
    assert session.get(Issue, 7007).title == "Renamed"


def test_an_event_id_stored_under_another_issue_counts_as_a_new_row(session):
    comment = {"event": "labeled", "id": 92, "actor": ALICE, "created_at": "2024-03-01T11:00:00Z"}
    upsert(session, Event, [event_row(comment, {"id": 7007, "org": "acme", "repo": "widgets"})])
    session.commit()
    counts = upsert(session, Event, [event_row(comment, {"id": 8008, "org": "acme", "repo": "gadgets"})])
    session.commit()
    assert (counts.inserted, counts.updated, counts.unchanged) == (1, 0, 0)


def test_member_event_and_transfer_round_trip(session):
    upsert(session, Member, [member_row(user("bob", 502))])
    comment = {
        "event": "commented",
        "id": 91,
        "node_id": "IC_91",
        "body": "thanks",
        "user": ALICE,
        "actor": ALICE,
        "created_at": "2024-03-01T11:00:00Z",
        "updated_at": "2024-03-01T11:00:00Z",
        "author_association": "NONE",
        "reactions": reactions(API + "/c/91", heart=2),
        "html_url": "https://github.com/acme/widgets/issues/7#issuecomment-91",
    }
    parent = {"id": 7007, "org": "acme", "repo": "widgets"}
    upsert(session, Event, [event_row(comment, parent)])
    new_issue = {
        "id": 9009,
        "number": 3,
        "repository_url": f"{API}/repos/acme/gadgets",
        "url": f"{API}/repos/acme/gadgets/issues/3",
        "html_url": "https://github.com/acme/gadgets/issues/3",
    }
    upsert(session, Transfer, [transfer_row(new_issue, issue_row(an_issue()))])
    session.commit()
    assert session.scalar(select(Member.login)) == "bob"
    event = session.get(Event, (91, 7007))
    assert event.username == "alice" and event.reactions["heart"] == 2 and event.extra["actor"]["login"] == "alice"
    transfer = session.get(Transfer, (7007, 9009))
    assert (transfer.repo, transfer.new_repo, transfer.new_number) == ("widgets", "gadgets", 3)


def test_failure_before_commit_rolls_back_that_batch_only(session):
    upsert(session, Issue, [issue_row(an_issue())])
    session.commit()
    with pytest.raises(RuntimeError):
        upsert(session, Issue, [issue_row(an_issue(id=7009, number=9))])
        raise RuntimeError("GitHub failed before the batch was complete")
    session.rollback()
    assert session.scalars(select(Issue.id)).all() == [7007]


def test_concurrent_upserts_of_the_same_issue_both_succeed(db_url, session_for):
    create_all(db_url)
    barrier = threading.Barrier(2)
    errors = []

    def write(title, updated):
        session = session_for(db_url)
        try:
            barrier.wait()
            upsert(session, Issue, [issue_row(an_issue(title=title, updated_at=updated))])
            session.commit()
        except Exception as error:  # collected and asserted below
            errors.append(error)

    threads = [
        threading.Thread(target=write, args=("from every_30_min", "2024-03-04T00:00:00Z")),
        threading.Thread(target=write, args=("from nrt_events", "2024-03-05T00:00:00Z")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    check = session_for(db_url)
    assert check.get(Issue, 7007).title == "from nrt_events"


ORIGINAL_SCHEMA = """
CREATE TABLE members (id INTEGER PRIMARY KEY, inserted_dt TIMESTAMP DEFAULT now(), inactive_dt TIMESTAMP,
  inactive BOOLEAN DEFAULT false, avatar_url VARCHAR, events_url VARCHAR, followers_url VARCHAR,
  following_url VARCHAR, gists_url VARCHAR, gravatar_id VARCHAR, html_url VARCHAR, login VARCHAR UNIQUE,
  node_id VARCHAR, organizations_url VARCHAR, received_events_url VARCHAR, repos_url VARCHAR, site_admin BOOLEAN,
  starred_url VARCHAR, subscriptions_url VARCHAR, type VARCHAR, url VARCHAR);
CREATE TABLE issues (id BIGINT PRIMARY KEY, active_lock_reason VARCHAR, assignee JSONB, assignees JSON[],
  author_association VARCHAR, body VARCHAR, closed_at TIMESTAMP, comments INTEGER, comments_url VARCHAR,
  created_at TIMESTAMP, events_url VARCHAR, html_url VARCHAR, labels JSON[], labels_url VARCHAR, locked BOOLEAN,
  milestone JSONB, node_id VARCHAR, number INTEGER, org VARCHAR, performed_via_github_app VARCHAR, reactions JSONB,
  repo VARCHAR, repository_url VARCHAR, score FLOAT, state VARCHAR, state_reason VARCHAR, timeline_url VARCHAR,
  title VARCHAR, updated_at TIMESTAMP, url VARCHAR, "user" JSONB, username VARCHAR);
CREATE TABLE pull_requests (id BIGINT PRIMARY KEY, url VARCHAR, repo VARCHAR, org VARCHAR, repository_url VARCHAR,
  labels_url VARCHAR, comments_url VARCHAR, events_url VARCHAR, html_url VARCHAR, node_id VARCHAR, number INTEGER,
  title VARCHAR, "user" JSONB, username VARCHAR, labels JSON[], state VARCHAR, state_reason VARCHAR, merged BOOLEAN,
  locked BOOLEAN, assignee JSONB, assignees JSON[], milestone JSONB, comments INTEGER, created_at TIMESTAMP,
  updated_at TIMESTAMP, closed_at TIMESTAMP, author_association VARCHAR, active_lock_reason VARCHAR, draft BOOLEAN,
  pull_request JSONB, body VARCHAR, reactions JSONB, timeline_url VARCHAR, performed_via_github_app VARCHAR,
  score INTEGER);
CREATE TABLE events (id BIGINT, issue_id BIGINT, org VARCHAR, repo VARCHAR, event VARCHAR, body VARCHAR,
  label JSONB, reactions JSONB, state VARCHAR, created_at TIMESTAMP, updated_at TIMESTAMP, node_id VARCHAR,
  "user" JSONB, author_association VARCHAR, username VARCHAR, PRIMARY KEY (id, issue_id));
CREATE TABLE event_polls (id BIGINT, page_no INTEGER, issue_updated_at TIMESTAMP, etag VARCHAR,
  PRIMARY KEY (id, page_no));
CREATE TABLE transfers (issue_id BIGINT, new_issue_id BIGINT, url VARCHAR, number INTEGER, repo VARCHAR,
  title VARCHAR, body VARCHAR, created_at TIMESTAMP, closed_at TIMESTAMP, state VARCHAR, org VARCHAR,
  assignee JSONB, assignees JSON[], labels JSON[], new_repo VARCHAR, new_html_url VARCHAR, new_url VARCHAR,
  new_number INTEGER, "user" JSONB, username VARCHAR, PRIMARY KEY (issue_id, new_issue_id));
INSERT INTO issues (id, number, org, repo, title, state, created_at, updated_at, username, labels)
  VALUES (7007, 7, 'acme', 'widgets', 'Old title', 'open', '2024-03-01 10:00:00', '2024-03-01 10:00:00', 'alice',
          ARRAY['{"name": "bug"}'::json]);
INSERT INTO members (id, login) VALUES (501, 'alice');
INSERT INTO event_polls (id, page_no, issue_updated_at, etag) VALUES (7007, 1, '2024-03-01 10:00:00', 'W/"x"');
"""


def test_migration_upgrades_the_original_database_in_place(pg_url, session_for):
    engine = create_engine(pg_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(ORIGINAL_SCHEMA)
    engine.dispose()
    upgrade_database(pg_url)
    upgrade_database(pg_url)
    inspector = inspect(create_engine(pg_url))
    assert {"extra", "row_hash"} <= {c["name"] for c in inspector.get_columns("issues")}
    assert "page_size" in {c["name"] for c in inspector.get_columns("event_polls")}
    assert "ix_issues_repo_number" in {i["name"] for i in inspector.get_indexes("issues")}
    assert {"sync_state", "backfill_checkpoints", "transfer_checks", "job_runs"} <= set(inspector.get_table_names())
    session = session_for(pg_url)
    counts = upsert(session, Issue, [issue_row(an_issue(title="New title"))])
    session.commit()
    assert counts.updated == 1
    stored = session.get(Issue, 7007)
    assert stored.title == "New title" and stored.row_hash is not None
    assert session.execute(text("SELECT etag FROM event_polls")).scalar() == 'W/"x"'


def test_migration_creates_a_fresh_database_like_create_all(db_url, session_for):
    upgrade_database(db_url)
    session = session_for(db_url)
    assert upsert(session, Issue, [issue_row(an_issue())]).inserted == 1


def test_alembic_command_from_the_repo_root_reads_db_url(db_url):
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "DB_URL": db_url}
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "issues" in inspect(create_engine(db_url)).get_table_names()


def test_a_batch_keeps_each_rows_own_labels_and_text_exactly(session):
    odd_text = "tab\there\nnew line\\backslash \\N not null\r\n"
    rows = [
        issue_row(an_issue(id=1, number=1, labels=[], body=odd_text)),
        issue_row(an_issue(id=2, number=2, body="", labels=[{"name": "a"}, {"name": "b"}])),
        issue_row(an_issue(id=3, number=3, body=None, labels=None, assignees=[ALICE])),
    ]
    upsert(session, Issue, rows)
    session.commit()
    first, second, third = (session.get(Issue, n) for n in (1, 2, 3))
    assert first.labels == [] and first.body == odd_text
    assert [label["name"] for label in second.labels] == ["a", "b"] and second.body == ""
    assert third.labels is None and third.body is None and third.assignees[0]["login"] == "alice"


def test_nul_characters_from_github_do_not_break_a_batch(session):
    rows = [issue_row(an_issue(body="before\x00after", milestone={"title": "v\x001"}))]
    assert upsert(session, Issue, rows).inserted == 1
    session.commit()
    stored = session.get(Issue, 7007)
    assert stored.body.startswith("before") and stored.body.endswith("after")
    assert stored.milestone["title"] in ("v\x001", "v\ufffd1")
