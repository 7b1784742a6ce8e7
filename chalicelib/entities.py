"""What each synced entity is: its table, its key, its replication key, and how a GitHub payload becomes a row.
Declarations and row functions only: no job context, no database session, no client. A payload field with no
column goes to `extra`.

Adding an entity (say PR reviews), end to end:
1. Model: a class in `models.py` with the payload's columns, `PortColumns` for `extra`/`row_hash`.
2. Migration: a new file in `migrations/versions/` that creates the table (copy the newest one's header).
3. Endpoint: a method on `GitHubAPI` in `github/client.py`; no URL is built outside `chalicelib/github`.
4. Entity: a row function `to_row(payload, parent=None)` (parent: the stored item it belongs to, a `Parent`)
   and an `Entity(...)` below naming the model, key, replication key and that function.
5. Fetch step: one function in its own module beside `items.py`/`members.py`/`timelines.py`: call the client,
   then `load(ctx, entity, payloads, parent)` (`load.py`; `unit` and `put` for several tables at once).
6. Job: one line in the job that should run it, in `jobs.py`.
7. Test: a scenario in `tests/` against the fake GitHub (`tests/fake/`), with the payload's real shape.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict
from urllib.parse import urlsplit

import orjson
from sqlalchemy import DateTime, Float, Integer, String
from sqlalchemy.dialects.postgresql import ARRAY

from .models import Event, EventPoll, Issue, Member, PullRequest, TimelineRead, Transfer
from .times import parse_timestamp

BOOKKEEPING_COLUMNS = frozenset({"extra", "row_hash", "inserted_dt", "inactive", "inactive_dt"})


def _text(value: Any) -> Any:
    return json_text(value) if isinstance(value, (dict, list)) else value


def _whole(value: Any) -> Any:
    return round(value) if isinstance(value, float) else value


def _real(value: Any) -> Any:
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _list(value: Any) -> list:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {type(value).__name__} {str(value)[:40]!r}")
    return value


def _converter(column) -> Callable[[Any], Any] | None:
    converters = ((ARRAY, _list), (DateTime, parse_timestamp), (String, _text), (Integer, _whole), (Float, _real))
    for column_type, convert in converters:
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
    """Every payload column of `model` from `payload` (None where absent), the rest of it in `extra`; `derived`
    values (worked out from the payload or its parent) override, converted the same way."""
    names, converters, keeps_extra = _layout(model)
    row: dict[str, Any] = dict.fromkeys(names)
    extra = {}
    for name, value in [*payload.items(), *(derived or {}).items()]:
        if name in converters:
            convert = converters[name]
            row[name] = convert(value) if convert is not None and value is not None else value
        elif name not in (derived or {}):
            extra[name] = value
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


def issue_row(item: dict, parent: Parent | None = None) -> dict:
    org, repo = org_and_repo(item.get("repository_url"))
    return payload_row(Issue, item, {"org": org, "repo": repo, "username": login_of(item.get("user"))})


def pull_request_row(item: dict, parent: Parent | None = None) -> dict:
    """A search item with a `pull_request` object; `merged` is None (kept as stored) when that object is of an
    older shape without `merged_at`."""
    org, repo = org_and_repo(item.get("repository_url"))
    pull_request = item.get("pull_request") or {}
    merged = pull_request["merged_at"] is not None if "merged_at" in pull_request else None
    return payload_row(
        PullRequest,
        item,
        {"org": org, "repo": repo, "username": login_of(item.get("user")), "merged": merged},
    )


def member_row(payload: dict, parent: Parent | None = None) -> dict:
    row = payload_row(Member, payload)
    row.update(inactive=False, inactive_dt=None)
    return row


def stable_event_id(*identity: Any) -> int:
    """A key for an event GitHub gives no id, from what identifies it: negative, so it never meets a real id."""
    digest = hashlib.sha256(json_text(list(identity)).encode()).digest()
    return -(int.from_bytes(digest[:8], "big") & (2**62 - 1)) - 1


def _event_id(payload: dict) -> int:
    """GitHub's id; else a key from what identifies the event and never changes: a commit's sha, a review
    thread's first comment, a cross-reference's source issue, time and actor (not the whole `source`, which
    embeds the source issue's current state and would make a new key each time that issue changes)."""
    if payload.get("id") is not None:
        return payload["id"]
    kind = payload.get("event")
    if kind == "committed":
        if not payload.get("sha"):
            raise ValueError("a committed event without a sha")
        return stable_event_id(kind, payload["sha"])
    if "comments" in payload:
        ids = [comment.get("id") for comment in payload.get("comments") or [] if comment.get("id") is not None]
        if not ids:
            raise ValueError(f"a {kind} event without comment ids")
        return stable_event_id(kind, min(ids))
    issue = (payload.get("source") or {}).get("issue") or {}
    return stable_event_id(kind, payload.get("created_at"), issue.get("id"), login_of(payload.get("actor")))


def _event_when_and_who(payload: dict) -> dict:
    """Time, author and text where each event carries them: `reviewed` in `submitted_at`/`user`, `committed` in
    its committer's date (its author is a name and e-mail, not an account), review and commit comment threads
    in their first comment (updated when any comment of the thread is)."""
    if payload.get("event") == "committed":
        dates = [(payload.get(role) or {}).get("date") for role in ("committer", "author")]
        return {"created_at": next((d for d in dates if d), None), "user": None}
    comments = [c for c in payload.get("comments") or [] if isinstance(c, dict)]
    if comments:
        first = min(comments, key=lambda comment: comment.get("id") or 0)
        updated = [c.get("updated_at") or c.get("created_at") for c in comments]
        return {
            "created_at": first.get("created_at"),
            "updated_at": max((u for u in updated if u), default=None),
            "user": first.get("user"),
            "body": first.get("body"),
            "author_association": first.get("author_association"),
        }
    return {
        "created_at": payload.get("created_at") or payload.get("submitted_at"),
        "user": payload.get("user") or payload.get("actor"),
    }


def comment_as_event(comment: dict) -> dict:
    """An issue comment (from the comments listing or a webhook) as the timeline's `commented` event."""
    return {**comment, "event": "commented", "actor": comment.get("user")}


def event_row(payload: dict, parent: Parent | None = None) -> dict:
    """A timeline event of the stored item `parent`."""
    issue = parent or {}
    derived = {key: value for key, value in _event_when_and_who(payload).items() if value is not None}
    derived.setdefault("user", None)
    return payload_row(
        Event,
        payload,
        {
            **derived,
            "id": _event_id(payload),
            "issue_id": issue["id"],
            "org": issue["org"],
            "repo": issue["repo"],
            "username": login_of(derived["user"]),
        },
    )


def timeline_read_row(read: dict, parent: Parent | None = None) -> dict:
    """That the item `parent`'s timeline was read whole (`read`: outcome, read_at)."""
    item = parent or {}
    return payload_row(
        TimelineRead,
        {},
        {"item_id": item.get("id"), "item_updated_at": item.get("updated_at"), **read},
    )


def transfer_row(new_issue: dict, parent: Parent | None = None) -> dict:
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


def poll_row(page: dict, parent: Parent | None = None) -> dict:
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


class Parent(TypedDict, total=False):
    """The stored item a row belongs to, as the row functions receive it: an event's issue or PR, a timeline
    page's or read mark's item, a transfer's old issue (with what the transfer keeps of it)."""

    id: int
    org: str
    repo: str
    updated_at: datetime | None
    url: str
    number: int
    title: str
    body: str | None
    created_at: datetime
    closed_at: datetime | None
    state: str
    assignee: Any
    assignees: Any
    labels: Any
    user: Any
    username: str | None


@dataclass(frozen=True)
class Entity:
    """How one kind of GitHub object is fetched and stored (the idea of a tap's stream declaration)."""

    name: str
    model: type
    key: tuple[str, ...]
    replication_key: str | None
    to_row: Callable[..., dict]


ISSUES = Entity("issues", Issue, ("id",), "updated_at", issue_row)
PULL_REQUESTS = Entity("pull_requests", PullRequest, ("id",), "updated_at", pull_request_row)
MEMBERS = Entity("members", Member, ("id",), None, member_row)
EVENTS = Entity("events", Event, ("id", "issue_id"), "updated_at", event_row)
EVENT_POLLS = Entity("event_polls", EventPoll, ("id", "page_no"), None, poll_row)
TIMELINE_READS = Entity("timeline_reads", TimelineRead, ("item_id",), None, timeline_read_row)
TRANSFERS = Entity("transfers", Transfer, ("issue_id", "new_issue_id"), None, transfer_row)


def entity_for_item(item: dict) -> Entity:
    """A search item is a pull request exactly when it carries a `pull_request` object."""
    return PULL_REQUESTS if item.get("pull_request") is not None else ISSUES
