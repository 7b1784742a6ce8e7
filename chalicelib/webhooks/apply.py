"""The webhook queue's consumer: each delivery stored once, through the same entities and load path as the polling
jobs, so a row is the same whichever way it came, and a late or repeated delivery never overwrites a newer row
(the upsert keeps the newest `updated_at`).

Applied once: the delivery's id is written in `webhook_deliveries` in the same transaction as its rows, and a
delivery already there is skipped. One that fails is rolled back alone; the batch is then raised, so SQS hands it
back (the applied ones are skipped next time) and, after its retries, to the dead-letter queue. What a webhook
cannot carry (a label's or a close's event id, which only the listings and timelines have) stays with polling.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from sqlalchemy import delete, select, update

from ..context import JobContext
from ..entities import EVENTS, MEMBERS, TRANSFERS, comment_as_event, entity_for_item, org_and_repo
from ..load import put, rows_of, unit
from ..members import mark_inactive
from ..models import Event, Issue, Member, PullRequest, WebhookDelivery
from ..transfers import delete_item, row_as_dict

log = logging.getLogger(__name__)


class DeliveryFailed(RuntimeError):
    """Some deliveries of a batch could not be applied; SQS gives the batch back (applied ones are skipped)."""


def _store_item(ctx: JobContext, item: dict) -> dict | None:
    """An issue or PR in the issues API's shape, stored; its row (the parent of its events), or None if malformed."""
    entity = entity_for_item(item)
    rows = rows_of(ctx, entity, [item])
    put(ctx, entity, rows)
    return rows[0] if rows else None


def _store_comment(ctx: JobContext, comment: dict, parent: dict) -> None:
    put(ctx, EVENTS, rows_of(ctx, EVENTS, [comment_as_event(comment)], parent))


def _issues(ctx: JobContext, action: str, payload: dict) -> str:
    issue = payload["issue"]
    if action == "deleted":
        if ctx.session.get(Issue, issue["id"]) is None:
            return "not stored"
        delete_item(ctx, Issue, issue["id"])
        ctx.report.count("removed")
        return "removed"
    if action == "transferred":
        return _transferred(ctx, issue, payload["changes"]["new_issue"])
    return "stored" if _store_item(ctx, issue) else "malformed"


def _transferred(ctx: JobContext, old_issue: dict, new_issue: dict) -> str:
    """The new issue stored when its repo is tracked; the old one retired with a transfer row, as polling does."""
    org, repo = org_and_repo(new_issue.get("repository_url"))
    if _tracked_repo(ctx, org or "", repo or ""):
        _store_item(ctx, new_issue)
    old = ctx.session.get(Issue, old_issue["id"])
    if old is None:
        return "transferred (old issue not stored)"
    put(ctx, TRANSFERS, [TRANSFERS.to_row(new_issue, row_as_dict(old))])
    delete_item(ctx, Issue, old.id)
    ctx.report.count("transferred")
    return "transferred"


def _stored_pull(ctx: JobContext, repository: dict, number: int) -> tuple[int, str | None] | None:
    org, repo = repository["owner"]["login"], repository["name"]
    found = ctx.session.execute(
        select(PullRequest.id, PullRequest.node_id).where(
            PullRequest.org == org, PullRequest.repo == repo, PullRequest.number == number
        )
    ).first()
    return (found[0], found[1]) if found else None


def _pull_item(ctx: JobContext, pull: dict, repository: dict) -> dict:
    """The PR in the issues API's shape, which the table keeps: the pulls API's `id` is not the issue's, so a PR we
    store already lends its id; a new one is read once from the issues API."""
    stored = _stored_pull(ctx, repository, pull["number"])
    if stored is None:
        return ctx.api.get(pull["issue_url"]).data
    issue_url = pull["issue_url"]
    return {
        **pull,
        "id": stored[0],
        "node_id": stored[1],
        "url": issue_url,
        "repository_url": repository["url"],
        "labels_url": issue_url + "/labels{/name}",
        "comments_url": issue_url + "/comments",
        "events_url": issue_url + "/events",
        "timeline_url": issue_url + "/timeline",
        "pull_request": {
            "url": pull["url"],
            "html_url": pull["html_url"],
            "diff_url": pull.get("diff_url"),
            "patch_url": pull.get("patch_url"),
            "merged_at": pull.get("merged_at"),
        },
    }


def _pull_request(ctx: JobContext, action: str, payload: dict) -> str:
    row = _store_item(ctx, _pull_item(ctx, payload["pull_request"], payload["repository"]))
    return "stored" if row else "malformed"


def _issue_comment(ctx: JobContext, action: str, payload: dict) -> str:
    parent = _store_item(ctx, payload["issue"])
    comment = payload["comment"]
    if parent is None:
        return "malformed"
    if action == "deleted":
        ctx.session.execute(delete(Event).where(Event.id == comment["id"], Event.issue_id == parent["id"]))
        return "comment removed"
    _store_comment(ctx, comment, parent)
    return "stored"


def _pull_request_review(ctx: JobContext, action: str, payload: dict) -> str:
    parent = _store_item(ctx, _pull_item(ctx, payload["pull_request"], payload["repository"]))
    if parent is None:
        return "malformed"
    review = payload["review"]
    put(
        ctx,
        EVENTS,
        rows_of(ctx, EVENTS, [{**review, "state": (review.get("state") or "").lower(), "event": "reviewed"}], parent),
    )
    return "stored"


def _organization(ctx: JobContext, action: str, payload: dict) -> str:
    if action == "member_added":
        put(ctx, MEMBERS, rows_of(ctx, MEMBERS, [payload["membership"]["user"]]))
        return "stored"
    if action == "member_removed":
        mark_inactive(ctx, Member.id == payload["membership"]["user"]["id"])
        return "deactivated"
    return "nothing to store"


def _repository(ctx: JobContext, action: str, payload: dict) -> str:
    """A renamed repo's rows take its new name (polling would otherwise store its items again under it)."""
    if action != "renamed":
        return "nothing to store"
    org, new = payload["repository"]["owner"]["login"], payload["repository"]["name"]
    old = payload["changes"]["repository"]["name"]["from"]
    for model in (Issue, PullRequest, Event):
        ctx.session.execute(update(model).where(model.org == org, model.repo == old).values(repo=new))
    return f"renamed {old} to {new}"


def _member(ctx: JobContext, action: str, payload: dict) -> str:
    """A repo collaborator added or removed: `author_association` says COLLABORATOR on what they write, which is
    what makes them a maintainer; the members table holds the org's members."""
    return "nothing to store"


HANDLERS: dict[str, Callable[[JobContext, str, dict], str]] = {
    "issues": _issues,
    "pull_request": _pull_request,
    "issue_comment": _issue_comment,
    "pull_request_review": _pull_request_review,
    "organization": _organization,
    "member": _member,
    "repository": _repository,
}
HANDLED_EVENTS = frozenset(HANDLERS)


def _by_reference(ctx: JobContext, message: dict) -> str:
    """A delivery too large for SQS: the item read again from the issues API (and the comment, for a comment). A
    deletion or transfer this large is left to polling (daily's check settles them)."""
    if message.get("action") in ("deleted", "transferred"):
        return "left to polling"
    parent = _store_item(ctx, ctx.api.get(message["issue_url"]).data)
    if parent is None:
        return "malformed"
    if message.get("comment_url"):
        _store_comment(ctx, ctx.api.get(message["comment_url"]).data, parent)
    return "stored (read again)"


def tracked(ctx: JobContext, event: str, payload: dict) -> bool:
    """Whether the delivery concerns what the polling jobs sync: the org, and one of GITHUB_REPOS (an App installed
    on every repo sends them all). A renamed repo is judged by its old name, the one the settings know."""
    settings = ctx.settings
    repository = payload.get("repository")
    if not repository:
        login = (payload.get("organization") or {}).get("login") or settings.org
        return login.lower() == settings.org.lower()
    name = repository.get("name") or ""
    if event == "repository" and payload.get("action") == "renamed":
        name = payload["changes"]["repository"]["name"]["from"]
    return _tracked_repo(ctx, (repository.get("owner") or {}).get("login") or "", name)


def _tracked_repo(ctx: JobContext, owner: str, name: str) -> bool:
    """A repo of the org that GITHUB_REPOS names (any of its repos with `*`), in whatever case it is written."""
    settings = ctx.settings
    in_org = owner.lower() == settings.org.lower()
    return in_org and (settings.all_repos or name.lower() in {repo.lower() for repo in settings.repos})


def _reference_payload(message: dict) -> dict:
    """What a delivery by reference says of itself: its action and its repository."""
    owner, _, name = (message.get("repository") or "").partition("/")
    return {"action": message.get("action"), "repository": {"owner": {"login": owner}, "name": name}}


def apply_delivery(ctx: JobContext, message: dict) -> str:
    """One delivery in one transaction with its `webhook_deliveries` row; `duplicate` when applied before, `not
    tracked` for another org's or an untracked repo's."""
    delivery = message["delivery"]
    with unit(ctx) as session:
        if session.get(WebhookDelivery, delivery) is not None:
            return "duplicate"
        payload = json.loads(message["payload"]) if "payload" in message else _reference_payload(message)
        if not tracked(ctx, message["event"], payload):
            outcome = "not tracked"
        elif "payload" in message:
            outcome = HANDLERS[message["event"]](ctx, payload.get("action") or "", payload)
        else:
            outcome = _by_reference(ctx, message)
        repository = payload.get("repository") or {}
        session.add(
            WebhookDelivery(
                delivery_id=delivery,
                event=message["event"],
                action=payload.get("action"),
                repo=repository.get("name"),
                outcome=outcome[:40],
            )
        )
    return outcome


def apply_messages(ctx: JobContext, messages: list[str]) -> dict[str, int]:
    """Each message's delivery applied on its own; raises DeliveryFailed at the end if any failed."""
    outcomes: dict[str, int] = {}
    failed = []
    for body in messages:
        try:
            message = json.loads(body)
            outcome = apply_delivery(ctx, message)
        except Exception as error:  # one bad delivery stops only itself
            failed.append(f"{type(error).__name__}: {str(error)[:200]}")
            log.warning("webhook delivery not applied: %s", failed[-1])
            continue
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    log.info("webhook deliveries: %s", ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items())) or "none")
    if failed:
        raise DeliveryFailed(f"{len(failed)} of {len(messages)} deliveries not applied: {'; '.join(failed[:3])}")
    return outcomes
