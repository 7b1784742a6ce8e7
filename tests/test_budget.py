"""One budget, shared: every run leaves a reserve of the hourly budget GitHub's headers report (plus room for
what the deployment's other functions may have in flight), slows down as it nears it, and stops cleanly at it;
it keeps to its share of GitHub's per-minute limits; a fan-out message stopped at the reserve comes back after
the reset; and the settings cannot let the functions hold more than GitHub's 100 requests open at once."""

import json

import boto3
import pytest

from chalicelib import config
from chalicelib.config import ConfigError, Settings
from chalicelib.github import BudgetReserved, GitHubAPI
from chalicelib.repo_work import WorkUnfinished, work
from tests.fake import commented
from tests.helpers import ALICE, MARIA, TEST_API, TOKEN, ago, last_run

GITHUB_COM = "https://api.github.com"


def headers(remaining: int, reset: float, limit: int = 5000) -> dict:
    return {
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-reset": str(int(reset)),
        "x-ratelimit-resource": "core",
        "x-ratelimit-limit": str(limit),
    }


def reserving_client(clock, base=TEST_API, **limits) -> GitHubAPI:
    return GitHubAPI(base, TOKEN, sleep=clock.sleep, clock=clock, **limits)


def test_a_client_at_its_reserve_stops_before_asking_instead_of_meeting_a_403(mocked, clock):
    client = reserving_client(clock, reserve_share=0.1, in_flight=20, time_left=lambda: 300.0)
    mocked.get(f"{TEST_API}/orgs/acme/members", json=[], headers=headers(520, clock.now + 1800))
    client.get("/orgs/acme/members")
    with pytest.raises(BudgetReserved) as stopped:
        client.get("/orgs/acme/repos")
    assert stopped.value.resume_in == pytest.approx(1801.0), "resume after the reset"
    assert len(mocked.calls) == 1, "the request past the reserve is never sent"


def two_requests_after(mocked, clock, remaining: int) -> list[float]:
    """A reserving client (floor 500 + 20) asks twice, the first answer saying `remaining` with 1,000 s to the
    reset; returns what it slept."""
    client = reserving_client(clock, reserve_share=0.1, in_flight=20)
    for offset, path in enumerate(("/orgs/acme/members", "/orgs/acme/repos")):
        mocked.get(f"{TEST_API}{path}", json=[], headers=headers(remaining - offset, clock.now + 1000))
        client.get(path)
    return clock.sleeps


def test_nearing_the_reserve_a_client_spreads_what_is_left_over_the_time_to_the_reset(mocked, clock):
    slept = two_requests_after(mocked, clock, 620)
    assert slept == [pytest.approx(1001 / (620 - 520))], "100 above the floor of 500 + 20: 10 s apart"


def test_far_from_the_reserve_a_client_does_not_wait(mocked, clock):
    assert two_requests_after(mocked, clock, 2000) == []


def test_a_client_keeps_to_its_share_of_an_endpoints_points_a_minute(mocked, clock):
    client = reserving_client(clock, GITHUB_COM, minute_share=0.01)  # 9 of GitHub's 900 a minute
    for number in range(20):
        mocked.get(f"{GITHUB_COM}/repos/acme/widgets/issues/{number}/timeline", json=[], headers=headers(4000, 0))
    sent = []
    for number in range(20):
        client.get(f"/repos/acme/widgets/issues/{number}/timeline")
        sent.append(clock.now)
    assert max(sum(1 for at in sent if start <= at < start + 60) for start in sent) <= 9
    assert client.stats.minute_waits >= 2 and clock.now - sent[0] >= 120


def test_different_endpoints_have_their_own_minute(mocked, clock):
    client = reserving_client(clock, GITHUB_COM, minute_share=0.01)
    for number in range(9):
        mocked.get(f"{GITHUB_COM}/repos/acme/widgets/issues/{number}/timeline", json=[], headers=headers(4000, 0))
        client.get(f"/repos/acme/widgets/issues/{number}/timeline")
    mocked.get(f"{GITHUB_COM}/orgs/acme/members", json=[], headers=headers(4000, 0))
    client.get("/orgs/acme/members")
    assert clock.sleeps == []


def test_a_scheduled_run_at_the_reserve_ends_partial_with_the_reserve_kept(github, invoke, app_env, monkeypatch):
    monkeypatch.setenv("EVENTS_SOURCE", "timelines")
    config.reset_caches()
    for number in range(1, 31):
        github.new_item("widgets", number, item_id=100 + number, author=ALICE, created=ago(hours=2))
    github.core_remaining = 530  # the floor: 10% of 5,000 and 17 that the other functions may have in flight
    invoke("nrt_events")
    run = last_run(app_env, "nrt_events")
    assert run.status == "partial" and github.core_remaining >= 500
    assert any("reserve" in warning for warning in run.counts["warnings"])


def test_a_fan_out_message_stopped_at_the_reserve_comes_back_after_the_reset(ses, github, app_env, monkeypatch):
    monkeypatch.setenv("FAN_OUT", "true")
    config.reset_caches()
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue = sqs.create_queue(QueueName="contributor-metrics-dev-repo-work")["QueueUrl"]
    github.members = [MARIA]
    github.new_item("widgets", 1, item_id=11, author=ALICE, created="2024-03-01T00:00:00Z")
    github.timelines[11] = [commented(9001, MARIA, "2024-03-02T00:00:00Z")]
    body = {"kind": "backfill_events", "repo": "widgets", "since": "2024-01-01T00:00:00+00:00"}
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({**body, "until": "2024-12-31T00:00:00+00:00"}))
    [received] = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=1)["Messages"]
    github.core_remaining = 540  # below the fan-out's floor: 500 and the 57 that 13 jobs and 5 consumers hold
    with pytest.raises(WorkUnfinished) as unfinished:
        work(received["Body"], receipt_handle=received["ReceiptHandle"])
    assert unfinished.value.retry_in == pytest.approx(3601, abs=5)
    assert last_run(app_env, "backfill_repo").status == "partial"
    visibility = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
    assert visibility["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "1"
    assert sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0).get("Messages") is None, "hidden until the reset"


def test_settings_that_would_hold_more_than_100_requests_open_are_refused():
    with pytest.raises(ConfigError, match="past GitHub's 100"):
        Settings.from_env({"TIMELINE_WORKERS": "8", "FAN_OUT": "true"})
    assert Settings.from_env({"TIMELINE_WORKERS": "8"}).requests_in_flight == 3 * 8 + 5


def test_the_reserve_is_a_percentage():
    assert Settings.from_env({"RATE_LIMIT_RESERVE": "25"}).rate_limit_reserve == 0.25
    with pytest.raises(ConfigError, match="RATE_LIMIT_RESERVE must be a percentage from 0 to 50"):
        Settings.from_env({"RATE_LIMIT_RESERVE": "80"})


def test_with_the_fan_out_its_workers_split_half_of_the_jobs_per_minute_share():
    fanned = Settings.from_env({"FAN_OUT": "true"})
    assert round(900 * fanned.minute_share(fan_out_worker=True)) == 40 and round(900 * fanned.minute_share()) == 405
    assert round(900 * Settings.from_env({}).minute_share()) == 810


def test_the_runs_of_one_process_share_one_tally_of_each_minute(mocked, clock):
    """A Lambda container takes fan-out messages one after another, each a run with a client of its own."""
    from chalicelib.context import Deadline
    from chalicelib.github.limits import MinuteWindow
    from chalicelib.runner import build_api

    settings = Settings(api_url=GITHUB_COM)
    assert build_api(settings, None, Deadline.never()).minute is build_api(settings, None, Deadline.never()).minute
    shared = MinuteWindow(clock)
    first, second = (reserving_client(clock, GITHUB_COM, minute_share=0.01, minute_window=shared) for _ in range(2))
    for number in range(10):
        mocked.get(f"{GITHUB_COM}/repos/acme/widgets/issues/{number}/timeline", json=[], headers=headers(4000, 0))
    for number in range(9):
        first.get(f"/repos/acme/widgets/issues/{number}/timeline")
    second.get("/repos/acme/widgets/issues/9/timeline")
    assert second.stats.minute_waits == 1, "the second run waits for what the first spent"
