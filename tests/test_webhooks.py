"""Webhooks: GitHub's own example deliveries (@octokit/webhooks-examples), signed with a test secret, posted to the
route through Chalice's test client onto SQS (moto), and applied by the queue's consumer through the same entities
as polling: once each, never over a newer row, and without asking GitHub for what the delivery carries."""

import copy
import hashlib
import hmac
import json
from pathlib import Path

import boto3
import pytest
from chalice.test import Client
from sqlalchemy import select

import app as application
from chalicelib.db import create_db_session
from chalicelib.models import Event, Issue, Member, PullRequest, Transfer, WebhookDelivery, create_all
from chalicelib.webhooks.apply import DeliveryFailed
from chalicelib.webhooks.consumer import consume
from chalicelib.webhooks.route import MAX_INLINE_BYTES

SECRET = "It's a Secret to Everybody"
EXAMPLES = json.loads((Path(__file__).parent / "contract" / "webhooks-examples.json").read_text())
QUEUE = "contributor-metrics-dev-webhooks"


def example(event: str, action: str | None = None, github=None) -> dict:
    """GitHub's first example of `event` with `action`, its API URLs pointed at the fake GitHub."""
    found = next(e for e in EXAMPLES[event] if action is None or e.get("action") == action)
    text = json.dumps(found)
    if github is not None:
        text = text.replace("https://api.github.com", github.api)
    return json.loads(text)


def signed(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
def queue(ses, app_env, monkeypatch):
    """The stage's queue in moto, the webhook secret set, the org the examples belong to."""
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("GITHUB_ORG", "Codertocat")
    monkeypatch.setenv("GITHUB_REPOS", "Hello-World")
    from chalicelib import config

    config.reset_caches()
    create_all(app_env)
    return boto3.client("sqs", region_name="us-east-1").create_queue(QueueName=QUEUE)["QueueUrl"]


def post(payload, event: str, delivery: str = "72d3162e-cc78-11e3-81ab-4c9367dc0958", signature=None, raw=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": signature if signature is not None else signed(body),
    }
    with Client(application.app) as client:
        return client.http.post("/github/webhook", headers=headers, body=body)


def queued(queue_url) -> list[str]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    bodies = []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return bodies
        bodies += [m["Body"] for m in got]
        for m in got:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])


def deliver(queue_url, payload, event, delivery="d-1") -> list[str]:
    answer = post(payload, event, delivery)
    assert answer.status_code == 202, answer.body
    messages = queued(queue_url)
    consume(messages)
    return messages


def rows(db_url, model, *where):
    session = create_db_session(db_url)
    try:
        return session.scalars(select(model).where(*where)).all()
    finally:
        session.close()


def test_ping_is_answered_and_not_queued(queue):
    answer = post(example("ping"), "ping")
    assert answer.status_code == 200 and json.loads(answer.body) == {"ok": "pong"}
    assert queued(queue) == []


@pytest.mark.parametrize("signature", ["", "sha256=" + "0" * 64, signed(b"another body")])
def test_a_delivery_without_the_right_signature_is_refused_and_goes_nowhere(queue, signature):
    answer = post(example("issues", "opened"), "issues", signature=signature)
    assert answer.status_code == 401 and queued(queue) == []


def test_a_body_past_the_bound_is_refused_before_anything_else(queue, monkeypatch):
    monkeypatch.setattr("chalicelib.webhooks.route.MAX_BODY_BYTES", 1000)
    answer = post(None, "issues", raw=b"{" + b" " * 2000 + b"}")
    assert answer.status_code == 413 and queued(queue) == []


def test_an_event_not_stored_is_answered_and_not_queued(queue):
    answer = post({"zen": "x"}, "star")
    assert answer.status_code == 202 and "not stored" in answer.body.decode() and queued(queue) == []


def test_an_opened_issue_is_stored_from_the_delivery_alone(queue, github, app_env):
    payload = example("issues", "opened", github)
    deliver(queue, payload, "issues")
    [issue] = rows(app_env, Issue)
    assert (issue.id, issue.title, issue.repo, issue.username) == (
        444500041,
        "Spelling error in the README file",
        "Hello-World",
        "Codertocat",
    )
    assert sum(github.requests.values()) == 0, "a delivery that carries the issue costs no request"
    [delivery] = rows(app_env, WebhookDelivery)
    assert (delivery.delivery_id, delivery.event, delivery.outcome) == ("d-1", "issues", "stored")


def test_a_repeated_delivery_changes_nothing(queue, github, app_env):
    payload = example("issues", "opened", github)
    messages = deliver(queue, payload, "issues")
    assert consume(messages) == {"duplicate": 1}
    assert len(rows(app_env, Issue)) == 1


def test_a_late_delivery_never_overwrites_a_newer_row(queue, github, app_env):
    newer = example("issues", "edited", github)
    newer["issue"].update(title="The newer title", updated_at="2030-01-02T00:00:00Z")
    older = copy.deepcopy(newer)
    older["issue"].update(title="An older title", updated_at="2030-01-01T00:00:00Z")
    deliver(queue, newer, "issues", "d-new")
    deliver(queue, older, "issues", "d-old")
    [issue] = rows(app_env, Issue)
    assert issue.title == "The newer title"


def test_a_comment_is_stored_as_its_timeline_event_and_a_deleted_one_goes(queue, github, app_env):
    created = example("issue_comment", "created", github)
    deliver(queue, created, "issue_comment", "d-c1")
    [event] = rows(app_env, Event)
    assert (event.id, event.issue_id, event.event, event.username) == (
        created["comment"]["id"],
        created["issue"]["id"],
        "commented",
        created["comment"]["user"]["login"],
    )
    deleted = example("issue_comment", "deleted", github)
    deleted["comment"]["id"], deleted["issue"]["id"] = created["comment"]["id"], created["issue"]["id"]
    deliver(queue, deleted, "issue_comment", "d-c2")
    assert rows(app_env, Event) == [], "polling never saw a deleted comment; the webhook removes it"


def github_has_pull(github, pull: dict, issue_id: int) -> None:
    """The fake GitHub holds the PR a delivery names, as the issues API shows it (with the issue's own id)."""
    github.org = "Codertocat"
    github.new_item(
        "Hello-World", pull["number"], item_id=issue_id, author=pull["user"], created=pull["created_at"], pr=True
    )


def test_a_pr_already_stored_keeps_its_issue_id_and_costs_no_request(queue, github, app_env):
    opened = example("pull_request", "opened", github)
    pull = opened["pull_request"]
    github_has_pull(github, pull, 9_000_001)
    deliver(queue, opened, "pull_request", "d-p1")
    assert github.requests["core"] == 1, "a new PR's issue id is read once from the issues API"
    closed = example("pull_request", "closed", github)
    closed["pull_request"].update(number=pull["number"], updated_at="2030-01-01T00:00:00Z")
    deliver(queue, closed, "pull_request", "d-p2")
    assert github.requests["core"] == 1, "then the PR is known: no request"
    [stored] = rows(app_env, PullRequest)
    assert (stored.id, stored.state, stored.url) == (9_000_001, "closed", pull["issue_url"])


def test_a_submitted_review_is_stored_as_the_timelines_reviewed_event(queue, github, app_env):
    submitted = example("pull_request_review", "submitted", github)
    pull = submitted["pull_request"]
    github_has_pull(github, pull, 9_000_002)
    deliver(queue, submitted, "pull_request_review", "d-r1")
    [event] = rows(app_env, Event)
    review = submitted["review"]
    assert (event.id, event.issue_id, event.event, event.username) == (
        review["id"],
        9_000_002,
        "reviewed",
        review["user"]["login"],
    )
    assert event.created_at is not None, "a review's time is its submitted_at"


def test_org_members_are_added_and_removed_as_they_change(queue, github, app_env):
    added = example("organization", "member_added", github)
    added["organization"]["login"] = "Codertocat"  # the org this stage tracks (GitHub's example is Octocoders)
    deliver(queue, added, "organization", "d-m1")
    [member] = rows(app_env, Member)
    assert member.login == added["membership"]["user"]["login"] and not member.inactive
    removed = dict(copy.deepcopy(added), action="member_removed")  # GitHub documents the same shape for both
    deliver(queue, removed, "organization", "d-m2")
    [member] = rows(app_env, Member)
    assert member.inactive and member.inactive_dt is not None


def test_a_renamed_repo_keeps_its_rows_under_the_new_name(queue, github, app_env):
    deliver(queue, example("issues", "opened", github), "issues", "d-i1")
    renamed = example("repository", "renamed", github)
    renamed["repository"]["owner"]["login"] = "Codertocat"
    renamed["changes"]["repository"]["name"]["from"] = "Hello-World"
    deliver(queue, renamed, "repository", "d-n1")
    [issue] = rows(app_env, Issue)
    assert issue.repo == renamed["repository"]["name"]


def test_a_transferred_issue_leaves_a_transfer_row_as_polling_does(queue, github, app_env):
    opened = example("issues", "opened", github)
    deliver(queue, opened, "issues", "d-i1")
    transferred = example("issues", "transferred", github)
    transferred["issue"]["id"] = 444500041
    transferred["repository"] = opened["repository"]  # from the tracked repo (GitHub's example moves octo-repo's)
    deliver(queue, transferred, "issues", "d-t1")
    new_id = transferred["changes"]["new_issue"]["id"]
    assert [t.new_issue_id for t in rows(app_env, Transfer)] == [new_id]
    assert rows(app_env, Issue, Issue.id == 444500041) == []


def test_one_bad_delivery_stops_only_itself_and_the_batch_is_given_back(queue, github, app_env):
    good = json.dumps(
        {"delivery": "d-g", "event": "issues", "payload": json.dumps(example("issues", "opened", github))}
    )
    bad = json.dumps({"delivery": "d-b", "event": "issues", "payload": json.dumps({"action": "opened"})})
    with pytest.raises(DeliveryFailed, match="1 of 2 deliveries not applied"):
        consume([bad, good])
    assert len(rows(app_env, Issue)) == 1 and [d.delivery_id for d in rows(app_env, WebhookDelivery)] == ["d-g"]
    with pytest.raises(DeliveryFailed):
        consume([bad, good])  # SQS hands the batch back: the good one is not applied twice
    assert len(rows(app_env, WebhookDelivery)) == 1


def test_a_delivery_too_large_for_sqs_goes_by_reference_and_is_read_again(queue, github, app_env):
    github.org = "Codertocat"
    payload = example("issues", "opened", github)
    issue = payload["issue"]
    issue["body"] = "x" * (MAX_INLINE_BYTES + 1)
    github.new_item(
        "Hello-World",
        issue["number"],
        item_id=issue["id"],
        author=issue["user"],
        created=issue["created_at"],
        title="Read again",
    )
    [message] = deliver(queue, payload, "issues", "d-big")
    assert "payload" not in json.loads(message) and len(message) < 1000
    [stored] = rows(app_env, Issue)
    assert stored.title == "Read again" and github.requests["core"] == 1


def test_the_consumer_runs_as_chalice_delivers_sqs_messages(queue, github, app_env):
    body = json.dumps(
        {"delivery": "d-s", "event": "issues", "payload": json.dumps(example("issues", "opened", github))}
    )
    with Client(application.app) as client:
        client.lambda_.invoke(
            "apply_webhooks", client.events.generate_sqs_event(queue_name=QUEUE, message_bodies=[body])
        )
    assert [d.delivery_id for d in rows(app_env, WebhookDelivery)] == ["d-s"]


def days_ago(days: float) -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_daily_asks_the_org_hook_again_for_failed_deliveries_not_applied(queue, github, invoke, monkeypatch, app_env):
    from tests.fake.app import HookLog

    github.org_hook = HookLog()
    github.org_hook.add("applied-later", days_ago(1), 503)
    github.org_hook.add("lost", days_ago(1), 503)
    github.org_hook.add("lost", days_ago(0.5), 504)
    github.org_hook.add("fine", days_ago(1), 202)
    github.org_hook.add("too-old", days_ago(4), 503)
    deliver(queue, example("issues", "opened", github), "issues", "applied-later")
    monkeypatch.setenv("WEBHOOK_HOOK_ID", str(github.org_hook_id))
    monkeypatch.setenv("GITHUB_ORG", github.org)
    monkeypatch.setenv("GITHUB_REPOS", "widgets")
    from chalicelib import config

    config.reset_caches()
    invoke("daily")
    lost = [d["id"] for d in github.org_hook.deliveries if d["guid"] == "lost"]
    assert github.org_hook.redelivered == [lost[0]], "the newest failure of each lost delivery, once"


def test_daily_asks_the_apps_hook_with_the_apps_jwt(queue, github, invoke, monkeypatch, app_env, tmp_path):
    from tests.fake.app import FakeApp

    github.app = FakeApp()
    github.app.hook.add("lost", days_ago(1), 500)
    key = tmp_path / "app.pem"
    key.write_text(github.app.private_key_pem)
    monkeypatch.setenv("GITHUB_APP_ID", github.app.app_id)
    monkeypatch.setenv("GITHUB_APP_PRIVATE_KEY_FILE", str(key))
    monkeypatch.setenv("GITHUB_ORG", github.org)
    monkeypatch.setenv("GITHUB_REPOS", "widgets")
    from chalicelib import config

    config.reset_caches()
    invoke("daily")
    assert github.app.hook.redelivered == [1] and not github.app.jwt_refusals


def test_a_delivery_of_a_repo_not_tracked_is_recorded_and_stores_nothing(queue, github, app_env):
    elsewhere = example("issues", "opened", github)
    elsewhere["repository"]["name"] = "Not-Tracked"
    deliver(queue, elsewhere, "issues", "d-x")
    assert rows(app_env, Issue) == []
    [delivery] = rows(app_env, WebhookDelivery)
    assert delivery.outcome == "not tracked"
