"""The fan-out: with FAN_OUT=true, daily queues one message per search scope and backfill --events --fan-out one
per repo's event listings (SQS in moto); the consumer does one message's work, and a message handed out twice
changes nothing."""

import json

import boto3
import pytest
from chalice.test import Client

import app as application
import backfill
from chalicelib import config
from chalicelib.models import BackfillCheckpoint, Event, Issue, JobRun
from chalicelib.repo_work import work
from tests.fake import commented
from tests.helpers import ALICE, MARIA, ago, count, fetch, last_run

QUEUE = "contributor-metrics-dev-repo-work"


@pytest.fixture
def queue(ses, app_env, monkeypatch):
    monkeypatch.setenv("FAN_OUT", "true")
    config.reset_caches()
    return boto3.client("sqs", region_name="us-east-1").create_queue(QueueName=QUEUE)["QueueUrl"]


def queued(queue_url) -> list[dict]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    found = []
    while got := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        found += [json.loads(m["Body"]) for m in got]
        for m in got:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    return found


def test_daily_queues_one_check_per_search_scope_and_checks_none_itself(queue, github, invoke, monkeypatch):
    github.repos += [{"name": f"tool-{n}", "archived": False} for n in range(60)]
    monkeypatch.setenv("GITHUB_REPOS", ",".join(f"tool-{n}" for n in range(20)))
    invoke("daily")
    messages = queued(queue)
    assert len(messages) == 2, "twenty repos of a larger org: two packed repo: lists"
    assert sorted(repo for m in messages for repo in m["repos"]) == sorted(f"tool-{n}" for n in range(20))
    assert all(len(m["terms"]) < 256 - 51 - len(" is:pr is:merged") for m in messages)
    assert {m["kind"] for m in messages} == {"daily_check"} and github.requests["search"] == 0


def test_a_queued_check_checks_its_scope_once_even_if_handed_out_twice(queue, github, invoke, app_env, slept):
    github.new_item("widgets", 1, item_id=11, author=ALICE, created=ago(weeks=60))
    invoke("daily")
    [message] = queued(queue)
    assert (message["terms"], sorted(message["repos"])) == ("org:acme archived:false", ["gadgets", "widgets"])
    work(json.dumps(message))
    assert fetch(app_env, Issue, 11) is not None, "the check found the item missing here and stored it"
    assert last_run(app_env, "daily_repo").status == "ok"
    searches = github.requests["search"]
    work(json.dumps(message))
    assert github.requests["search"] == searches, "checked today already: nothing asked again"


def test_a_check_queued_before_scopes_checks_its_one_repo(queue, github, app_env, slept):
    github.new_item("widgets", 1, item_id=11, author=ALICE, created=ago(weeks=60))
    work(json.dumps({"kind": "daily_check", "repo": "widgets", "day": ago(days=0)[:10]}))
    assert fetch(app_env, Issue, 11) is not None and last_run(app_env, "daily_repo").status == "ok"
    assert any("repo%3Aacme%2Fwidgets" in line for line in github.log if line.startswith("GET /search/issues"))


def test_backfill_fans_out_each_repos_event_listings(queue, github, app_env, slept, capsys):
    github.members = [MARIA]
    github.new_item("widgets", 1, item_id=11, author=ALICE, created="2024-03-01T00:00:00Z")
    github.timelines[11] = [commented(9001, MARIA, "2024-03-02T00:00:00Z")]
    period = ["--since", "2024-01-01", "--until", "2024-12-31", "--repos", "widgets", "--events", "--fan-out"]
    assert backfill.main(period) == 0
    assert count(app_env, Event) == 0, "the events are the queued work's, not this process's"
    [message] = queued(queue)
    assert (message["kind"], message["repo"]) == ("backfill_events", "widgets")
    with Client(application.app) as client:
        event = client.events.generate_sqs_event(queue_name=QUEUE, message_bodies=[json.dumps(message)])
        client.lambda_.invoke("repo_work_item", event)
    assert count(app_env, Event) == 1 and count(app_env, BackfillCheckpoint, BackfillCheckpoint.kind == "events") == 1
    asked = sum(github.requests.values())
    work(json.dumps(message))
    assert count(app_env, JobRun, JobRun.job == "backfill_repo") == 2
    assert sum(github.requests.values()) == asked, "checkpointed: the message handed out again reads nothing"


def test_fan_out_needs_events(app_env, capsys):
    with pytest.raises(SystemExit):
        backfill.main(["--since", "2024-01-01", "--fan-out"])
    assert "--fan-out fans out the event listings: it needs --events" in capsys.readouterr().err
