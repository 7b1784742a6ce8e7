"""What each synced entity is: its table, its key, its replication key, the client call it comes from, and how a
GitHub payload becomes a row. Jobs compose these; none of them knows a column name. A payload field with no
column goes to `extra`.

Adding an entity (say PR reviews), end to end:
1. Model: a class in `models.py` with the payload's columns, `PortColumns` for `extra`/`row_hash`.
2. Migration: a new file in `migrations/versions/` that creates the table (copy the newest one's header).
3. Endpoint: a method on `GitHubAPI` (or `TimelineAPI`/`TransferAPI`) in `github.py`; no URL is built elsewhere.
4. Entity: a row function `to_row(payload, parent=None)` (parent: the stored row it belongs to, if any) and an
   `Entity(...)` below naming the model, key, replication key and that client method.
5. Fetch step: one function in its own module beside `items.py`/`members.py`/`timelines.py`: call the client,
   map with `entity.to_row`, write with `store(ctx, entity, rows)` inside `committed(ctx.session)`.
6. Job: one line in the job that should run it, in `jobs.py`.
7. Test: a scenario in `tests/` against the fake GitHub (`tests/fake_github.py`), with the payload's real shape.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
from sqlalchemy import DateTime, Float, Integer, String

from .github import GitHubAPI, TimelineAPI, TransferAPI
from .models import Event, EventPoll, Issue, Member, PullRequest, Transfer
from .store import UpsertCounts, upsert

BOOKKEEPING_COLUMNS = frozenset({"extra", "row_hash", "inserted_dt", "inactive", "inactive_dt"})


def parse_timestamp(value: Any) -> datetime | None:
    """GitHub's `2024-05-01T12:00:00Z` as a naive UTC datetime (how the tables store time)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if value.endswith("Z"):
        return datetime.fromisoformat(value[:-1])
    return datetime.fromisoformat(value).astimezone(UTC).replace(tzinfo=None)


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
    canonical = orjson.dumps(
        {k: v for k, v in row.items() if k != "row_hash"}, option=orjson.OPT_SORT_KEYS, default=str
    )
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


def issue_row(item: dict, parent: dict | None = None) -> dict:
    org, repo = org_and_repo(item.get("repository_url"))
    return payload_row(Issue, item, {"org": org, "repo": repo, "username": login_of(item.get("user"))})


def pull_request_row(item: dict, parent: dict | None = None) -> dict:
    org, repo = org_and_repo(item.get("repository_url"))
    merged_at = (item.get("pull_request") or {}).get("merged_at")
    return payload_row(
        PullRequest,
        item,
        {
            "org": org,
            "repo": repo,
            "username": login_of(item.get("user")),
            "merged": merged_at is not None,
        },
    )


def member_row(payload: dict, parent: dict | None = None) -> dict:
    row = payload_row(Member, payload)
    row.update(inactive=False, inactive_dt=None)
    return row


def stable_event_id(payload: dict) -> int:
    """A key for events GitHub gives no id (cross-referenced): negative, so it never meets a real id."""
    canonical = json_text(
        {
            "event": payload.get("event"),
            "created_at": payload.get("created_at"),
            "source": payload.get("source"),
            "actor": login_of(payload.get("actor")),
        }
    )
    digest = hashlib.sha256(canonical.encode()).digest()
    return -(int.from_bytes(digest[:8], "big") & (2**62 - 1)) - 1


def event_row(payload: dict, parent: dict | None = None) -> dict:
    """A timeline event of the stored item `parent`; `reviewed` events name their author in `user` and their time
    in `submitted_at`."""
    issue = parent or {}
    user = payload.get("user") or payload.get("actor")
    fields = dict(payload)
    if fields.get("created_at") is None and fields.get("submitted_at") is not None:
        fields["created_at"] = fields["submitted_at"]
    return payload_row(
        Event,
        fields,
        {
            "id": payload.get("id") if payload.get("id") is not None else stable_event_id(payload),
            "issue_id": issue["id"],
            "org": issue["org"],
            "repo": issue["repo"],
            "user": user,
            "username": login_of(user),
        },
    )


def transfer_row(new_issue: dict, parent: dict | None = None) -> dict:
    """Where an issue went (GitHub's payload of the new issue) joined to the moved issue as it was (`parent`, our
    stored row)."""
    old = parent or {}
    _, new_repo = org_and_repo(new_issue.get("repository_url"))
    kept = {
        name: old.get(name)
        for name in (
            "url",
            "number",
            "repo",
            "title",
            "body",
            "created_at",
            "closed_at",
            "state",
            "org",
            "assignee",
            "assignees",
            "labels",
            "user",
            "username",
        )
    }
    return payload_row(
        Transfer,
        {},
        {
            **kept,
            "issue_id": old["id"],
            "new_issue_id": new_issue["id"],
            "new_repo": new_repo,
            "new_html_url": new_issue.get("html_url"),
            "new_url": new_issue.get("url"),
            "new_number": new_issue.get("number"),
        },
    )


def poll_row(page: dict, parent: dict | None = None) -> dict:
    """A timeline page's ETag (`page`: page_no, etag, page_size) for the item `parent` as it was when read."""
    item = parent or {}
    return payload_row(
        EventPoll,
        {},
        {
            "id": item.get("id"),
            "page_no": page["page_no"],
            "issue_updated_at": item.get("updated_at"),
            "etag": page["etag"],
            "page_size": page["page_size"],
        },
    )


@dataclass(frozen=True)
class Entity:
    """How one kind of GitHub object is fetched and stored (the idea of a tap's stream declaration)."""

    name: str
    model: type
    key: tuple[str, ...]
    replication_key: str | None
    fetched_by: Callable[..., Any]
    to_row: Callable[..., dict]

    def upsert(self, session, rows: list[dict]) -> UpsertCounts:
        return upsert(session, self.model, rows, key=self.key, replication_key=self.replication_key)


ISSUES = Entity("issues", Issue, ("id",), "updated_at", GitHubAPI.search_windows, issue_row)
PULL_REQUESTS = Entity("pull_requests", PullRequest, ("id",), "updated_at", GitHubAPI.search_windows, pull_request_row)
MEMBERS = Entity("members", Member, ("id",), None, GitHubAPI.list_members, member_row)
EVENTS = Entity("events", Event, ("id", "issue_id"), "updated_at", TimelineAPI.page, event_row)
EVENT_POLLS = Entity("event_polls", EventPoll, ("id", "page_no"), None, TimelineAPI.page, poll_row)
TRANSFERS = Entity("transfers", Transfer, ("issue_id", "new_issue_id"), None, TransferAPI.check, transfer_row)


def entity_for_item(item: dict) -> Entity:
    """A search item is a pull request exactly when it carries a `pull_request` object."""
    return PULL_REQUESTS if item.get("pull_request") is not None else ISSUES


def store(ctx, entity: Entity, rows: list[dict]) -> UpsertCounts:
    """Upsert rows of one entity in the caller's transaction and count them in the run's report."""
    counts = entity.upsert(ctx.session, rows)
    ctx.report.add(entity.name, counts)
    return counts
