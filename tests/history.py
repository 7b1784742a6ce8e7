"""Hand-built histories: items, events and members written straight into the tables, as the sync would have."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from chalicelib.db import create_db_session
from chalicelib.entities import event_row, issue_row, member_row, pull_request_row
from chalicelib.models import Event, Issue, Member, PullRequest, SyncState, TimelineRead, create_all
from chalicelib.store import upsert
from tests.fake import commented, item, user
from tests.helpers import API

BOT = user("github-actions[bot]", 41898282, kind="Bot")
BASE = (datetime.now(UTC) - timedelta(days=10)).replace(microsecond=0, minute=0)


def at(hours: float) -> str:
    return (BASE + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def comment(event_id, author, hours, association="NONE", **reactions):
    payload = commented(event_id, author, at(hours), **reactions)
    payload["author_association"] = association
    return payload


class History:
    """Writes items, events and members straight into the tables, as the sync would have: each item's timeline
    read (unless `read=False`) and the members synced (unless `members_synced=False`)."""

    def __init__(self, db_url, members_synced=True):
        create_all(db_url)
        self.session = create_db_session(db_url)
        if members_synced:
            self.session.add(SyncState(name="members", value=datetime.now(UTC).replace(tzinfo=None)))

    def issue(self, number, author, *, association="NONE", repo="widgets", hours=0.0, events=(), read=True, **fields):
        payload = item(API, "acme", repo, number, item_id=number, author=author, created=at(hours), **fields)
        payload["author_association"] = association
        upsert(self.session, Issue, [issue_row(payload)])
        self.events(payload, events)
        if read:
            self.session.add(TimelineRead(item_id=number, outcome="read"))
        return payload

    def pull_request(self, number, author, *, repo="widgets", hours=0.0, **fields):
        payload = item(API, "acme", repo, number, item_id=number, author=author, created=at(hours), pr=True, **fields)
        upsert(self.session, PullRequest, [pull_request_row(payload)])
        self.session.add(TimelineRead(item_id=number, outcome="read"))
        return payload

    def events(self, payload, events):
        parent = {"id": payload["id"], "org": "acme", "repo": payload["repository_url"].rsplit("/", 1)[1]}
        upsert(self.session, Event, [event_row(e, parent) for e in events])

    def member(self, person, left_at_hours=None):
        row = member_row(person)
        upsert(self.session, Member, [row])
        if left_at_hours is not None:
            stored = self.session.get(Member, person["id"])
            stored.inactive, stored.inactive_dt = True, datetime.fromisoformat(at(left_at_hours)[:-1])

    def rows(self, view, order="id"):
        self.session.commit()
        return [dict(r._mapping) for r in self.session.execute(text(f"SELECT * FROM {view} ORDER BY {order}"))]
