"""What each synced entity is: its table, its key, its replication key and how a GitHub payload becomes a row.

Jobs compose these; none of them knows a column name. A payload field with no column goes to `extra`.
"""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import urlsplit

import orjson
from sqlalchemy import DateTime, Float, Integer, String

from .models import Event, EventPoll, Issue, Member, PullRequest, Transfer
from .store import UpsertCounts, upsert

BOOKKEEPING_COLUMNS = frozenset({"extra", "row_hash", "inserted_dt", "inactive", "inactive_dt"})


def parse_timestamp(value: Any) -> datetime | None:
    """GitHub's `2024-05-01T12:00:00Z` as a naive UTC datetime (how the tables store time)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
    if value.endswith("Z"):
        return datetime.fromisoformat(value[:-1])
    return datetime.fromisoformat(value).astimezone(timezone.utc).replace(tzinfo=None)


def _text(value: Any) -> Any:
    return json_text(value) if isinstance(value, (dict, list)) else value


def _whole(value: Any) -> Any:
    return round(value) if isinstance(value, float) else value


def _real(value: Any) -> Any:
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _converter(column) -> Callable[[Any], Any] | None:
    for column_type, convert in ((DateTime, parse_timestamp), (String, _text), (Integer, _whole), (Float, _real)):
        if isinstance(column.type, column_type):
            return convert
    return None


@functools.cache
def _layout(model) -> tuple[tuple[str, ...], dict[str, Callable[[Any], Any] | None], bool]:
    """A model's payload columns and how to convert a value for each, worked out once per model."""
    columns = [c for c in model.__table__.columns if c.name not in BOOKKEEPING_COLUMNS]
    return tuple(c.name for c in columns), {c.name: _converter(c) for c in columns}, "extra" in model.__table__.c


def json_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str).decode()


def row_hash(row: dict) -> str:
    canonical = orjson.dumps({k: v for k, v in row.items() if k != "row_hash"},
                             option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.md5(canonical, usedforsecurity=False).hexdigest()


def payload_row(model, payload: dict, derived: dict | None = None) -> dict:
    """Every payload column of `model` from `payload` (None where absent), the rest of it in `extra`."""
    names, converters, keeps_extra = _layout(model)
    row: dict[str, Any] = dict.fromkeys(names)
    extra = {}
    for name, value in payload.items():
        if name in converters:
            convert = converters[name]
            row[name] = convert(value) if convert is not None and value is not None else value
        else:
            extra[name] = value
    if derived:
        row.update(derived)
    if keeps_extra:
        row["extra"] = extra or None
    row["row_hash"] = row_hash(row)
    return row


def login_of(user: dict | None) -> str | None:
    """The login of a user object; a deleted account comes as null and has none."""
    return user.get("login") if isinstance(user, dict) else None


def org_and_repo(repository_url: str | None) -> tuple[str | None, str | None]:
    parts = urlsplit(repository_url or "").path.rstrip("/").split("/")
    if len(parts) >= 3 and parts[-3] == "repos":
        return parts[-2], parts[-1]
    return None, None


def issue_row(item: dict) -> dict:
    org, repo = org_and_repo(item.get("repository_url"))
    return payload_row(Issue, item, {"org": org, "repo": repo, "username": login_of(item.get("user"))})


def pull_request_row(item: dict) -> dict:
    org, repo = org_and_repo(item.get("repository_url"))
    merged_at = (item.get("pull_request") or {}).get("merged_at")
    return payload_row(PullRequest, item, {
        "org": org, "repo": repo, "username": login_of(item.get("user")), "merged": merged_at is not None,
    })


def member_row(payload: dict) -> dict:
    row = payload_row(Member, payload)
    row.update(inactive=False, inactive_dt=None)
    return row


def stable_event_id(payload: dict) -> int:
    """A key for events GitHub gives no id (cross-referenced): negative, so it never meets a real id."""
    canonical = json_text({"event": payload.get("event"), "created_at": payload.get("created_at"),
                           "source": payload.get("source"), "actor": login_of(payload.get("actor"))})
    digest = hashlib.sha256(canonical.encode()).digest()
    return -(int.from_bytes(digest[:8], "big") & (2 ** 62 - 1)) - 1


def event_row(payload: dict, issue: dict) -> dict:
    """A timeline event as a row; `reviewed` events name their author in `user` and their time in `submitted_at`."""
    user = payload.get("user") or payload.get("actor")
    fields = dict(payload)
    if fields.get("created_at") is None and fields.get("submitted_at") is not None:
        fields["created_at"] = fields["submitted_at"]
    return payload_row(Event, fields, {
        "id": payload.get("id") if payload.get("id") is not None else stable_event_id(payload),
        "issue_id": issue["id"], "org": issue["org"], "repo": issue["repo"],
        "user": user, "username": login_of(user),
    })


def transfer_row(old: dict, new_issue: dict) -> dict:
    """The moved issue as it was (from our row) joined to where it went (GitHub's new payload)."""
    _, new_repo = org_and_repo(new_issue.get("repository_url"))
    kept = {name: old.get(name) for name in (
        "url", "number", "repo", "title", "body", "created_at", "closed_at", "state", "org", "assignee",
        "assignees", "labels", "user", "username")}
    return payload_row(Transfer, {}, {
        **kept, "issue_id": old["id"], "new_issue_id": new_issue["id"], "new_repo": new_repo,
        "new_html_url": new_issue.get("html_url"), "new_url": new_issue.get("url"),
        "new_number": new_issue.get("number"),
    })


def poll_row(issue_id: int, page_no: int, issue_updated_at: datetime | None, etag: str | None,
             page_size: int) -> dict:
    return payload_row(EventPoll, {}, {"id": issue_id, "page_no": page_no, "issue_updated_at": issue_updated_at,
                                       "etag": etag, "page_size": page_size})


@dataclass(frozen=True)
class Entity:
    """How one kind of GitHub object is fetched and stored (the idea of a tap's stream declaration)."""

    name: str
    model: type
    key: tuple[str, ...]
    replication_key: str | None
    source: str
    to_row: Callable[..., dict]

    def upsert(self, session, rows: list[dict]) -> UpsertCounts:
        return upsert(session, self.model, rows, key=self.key, replication_key=self.replication_key)


ISSUES = Entity("issues", Issue, ("id",), "updated_at", "search: items without pull_request", issue_row)
PULL_REQUESTS = Entity("pull_requests", PullRequest, ("id",), "updated_at", "search: items with pull_request",
                       pull_request_row)
MEMBERS = Entity("members", Member, ("id",), None, "/orgs/{org}/members", member_row)
EVENTS = Entity("events", Event, ("id", "issue_id"), "updated_at", "{timeline_url}", event_row)
EVENT_POLLS = Entity("event_polls", EventPoll, ("id", "page_no"), None, "timeline page ETags", poll_row)
TRANSFERS = Entity("transfers", Transfer, ("issue_id", "new_issue_id"), None, "301 from an issue URL",
                   transfer_row)


def entity_for_item(item: dict) -> Entity:
    """A search item is a pull request exactly when it carries a `pull_request` object."""
    return PULL_REQUESTS if item.get("pull_request") is not None else ISSUES
