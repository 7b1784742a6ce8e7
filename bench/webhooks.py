"""Webhooks against polling, and daily's check by search scope against a check per repo.

    python3 -m bench.webhooks [--deliveries 400] [--repos 500]

1. Latency: GitHub's example deliveries (@octokit/webhooks-examples), made distinct and signed, are posted to the
   app's route (Chalice's test client, in this process) at a steady rate; the route queues them on SQS (moto) and
   a consumer thread takes ten at a time off the queue and applies them to SQLite, as the Lambda consumer would.
   Event-to-row latency is from the post to the commit of its rows (p50, p95); GitHub requests are counted per
   kind of delivery against the fake GitHub. The polling path's latency is its schedule's (a change waits for the
   next `nrt_events`, every 10 minutes, and the run's own time), beside it.
2. Daily's check at scale: a steady day's check of `--repos` repos is run for real against the fake GitHub, once
   as a whole org (one `org:` scope) and once as named repos of an org three times larger (packed `repo:`
   lists), counting its searches against the per-repo checks run until 2026-12-08 (two a repo); minutes are
   GitHub's published search limit (30 a minute, shared by every run of one token).

Writes bench/results/webhooks.json.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta

from bench.scenario import ROOT, save_result

SECRET = "bench-secret"
EXAMPLES = json.loads((ROOT / "tests" / "contract" / "webhooks-examples.json").read_text())
POLL_EVERY_MINUTES = 10
SEARCHES_PER_MINUTE = 30


def _example(event: str, action: str, api: str) -> dict:
    found = next(e for e in EXAMPLES[event] if e.get("action") == action)
    return json.loads(json.dumps(found).replace("https://api.github.com", api))


NEW_PR_EVERY = 20


def deliveries(count: int, api: str) -> list[tuple[str, dict]]:
    """(event, payload) in the proportions of a busy org: issues opened and edited, comments, PRs closed and
    reviewed, and now and then a PR opened (not stored yet: its issue id costs a request)."""
    made = []
    for n in range(count):
        kind = n % 5
        if n % NEW_PR_EVERY == NEW_PR_EVERY - 1:
            payload = _example("pull_request", "opened", api)
            payload["pull_request"].update(
                number=950_000 + n, issue_url=f"{api}/repos/Codertocat/Hello-World/issues/{950_000 + n}"
            )
            made.append(("pull_request", payload))
            continue
        if kind in (0, 1):
            payload = _example("issues", "opened" if kind == 0 else "edited", api)
            payload["issue"].update(
                id=1_000_000 + n // 5, number=n // 5 + 1, updated_at=f"2030-01-01T00:{n % 60:02d}:00Z"
            )
            made.append(("issues", payload))
        elif kind == 2:
            payload = _example("issue_comment", "created", api)
            payload["comment"]["id"] = 5_000_000_000 + n
            payload["issue"].update(id=1_000_000 + n // 5, number=n // 5 + 1)
            made.append(("issue_comment", payload))
        elif kind == 3:
            payload = _example("pull_request", "closed", api)
            payload["pull_request"].update(number=900_000 + n // 5, updated_at="2030-01-02T00:00:00Z")
            made.append(("pull_request", payload))
        else:
            payload = _example("pull_request_review", "submitted", api)
            payload["review"]["id"] = 6_000_000_000 + n
            payload["pull_request"].update(number=900_000 + n // 5)
            made.append(("pull_request_review", payload))
    return made


def _signed_post(client, event: str, delivery: str, payload: dict):
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": signature,
    }
    return client.http.post("/github/webhook", headers=headers, body=body)


def example_pull(api: str, number: int, issue_id: int) -> dict:
    """A PR of the examples' repo as the issues API shows it."""
    from tests.fake import item, user

    author = user("Codertocat", 21031067)
    return item(
        api,
        "Codertocat",
        "Hello-World",
        number,
        item_id=issue_id,
        author=author,
        created="2019-05-15T15:20:33Z",
        pr=True,
    )


def _store_known_prs(db_url: str, count: int, api: str) -> None:
    """The PRs the closed and reviewed deliveries name, stored as polling would have (so they are known)."""
    from chalicelib.db import create_db_session
    from chalicelib.entities import pull_request_row
    from chalicelib.models import PullRequest
    from chalicelib.store import upsert

    session = create_db_session(db_url)
    rows = [pull_request_row(example_pull(api, 900_000 + n, 8_000_000 + n)) for n in range(count // 5 + 1)]
    upsert(session, PullRequest, rows)
    session.commit()
    session.close()


def measure_latency(count: int) -> dict:
    import boto3
    import responses
    from chalice.test import Client
    from moto import mock_aws

    from chalicelib import config
    from chalicelib.models import create_all
    from chalicelib.webhooks.consumer import consume
    from tests.fake import FakeGitHub

    workdir = tempfile.mkdtemp(prefix="bench-webhooks-")
    db_url = f"sqlite:///{workdir}/webhooks.db"
    fake = FakeGitHub(org="Codertocat")
    os.environ.update(
        GITHUB_API_URL=fake.api,
        GITHUB_ORG="Codertocat",
        GITHUB_REPOS="Hello-World",
        DB_URL=db_url,
        GH_TOKEN="ghp_bench",
        GITHUB_WEBHOOK_SECRET=SECRET,
        STAGE="dev",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
    )
    config.reset_caches()
    create_all(db_url)
    _store_known_prs(db_url, count, fake.api)
    for n in range(NEW_PR_EVERY - 1, count, NEW_PR_EVERY):
        fake.add(example_pull(fake.api, 950_000 + n, 7_000_000 + n))
    with mock_aws(), responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake.install(mock)
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="contributor-metrics-dev-webhooks")["QueueUrl"]
        import app as application

        posted: dict[str, float] = {}
        applied: dict[str, float] = {}
        made = deliveries(count, fake.api)
        done = threading.Event()

        def consumer():
            while not (done.is_set() and len(applied) >= len(posted)):
                got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
                if not got:
                    time.sleep(0.005)
                    continue
                consume([m["Body"] for m in got])
                now = time.perf_counter()
                for m in got:
                    applied[json.loads(m["Body"])["delivery"]] = now
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

        worker = threading.Thread(target=consumer, daemon=True)
        worker.start()
        requests_by_kind: dict[str, list[int]] = {}
        with Client(application.app) as client:
            for n, (event, payload) in enumerate(made):
                delivery = f"bench-{n}"
                before = sum(fake.requests.values())
                posted[delivery] = time.perf_counter()
                answer = _signed_post(client, event, delivery, payload)
                assert answer.status_code == 202, answer.body
                while delivery not in applied:
                    time.sleep(0.001)
                requests_by_kind.setdefault(f"{event}.{payload['action']}", []).append(
                    sum(fake.requests.values()) - before
                )
                time.sleep(0.01)
        done.set()
        worker.join(timeout=30)
    latencies = sorted(1000 * (applied[d] - posted[d]) for d in posted)
    return {
        "deliveries": count,
        "latency_ms_p50": round(statistics.median(latencies), 1),
        "latency_ms_p95": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
        "github_requests_per_delivery": {k: round(sum(v) / len(v), 2) for k, v in sorted(requests_by_kind.items())},
    }


def measure_fan_out(repos: int) -> dict:
    """A steady day's completeness check of `repos` repos, counted for real: tracked as a whole org (one `org:`
    scope) and as `repos` named repos of an org three times larger (packed `repo:` lists), against the per-repo
    check this project ran until 2026-12-08 (two searches a repo). Minutes are GitHub's 30 searches a minute."""
    import responses

    from chalicelib import config
    from chalicelib.models import create_all
    from chalicelib.runner import run_job
    from tests.fake import FakeGitHub, user

    def steady_daily_searches(tracked: str, org_repos: int) -> int:
        workdir = tempfile.mkdtemp(prefix="bench-fanout-")
        db_url = f"sqlite:///{workdir}/fanout.db"
        fake = FakeGitHub(org="acme")
        fake.repos = [{"name": f"repo-{n:04d}", "archived": False} for n in range(org_repos)]
        old = (datetime.now(UTC) - timedelta(weeks=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
        for n in range(repos):
            fake.new_item(f"repo-{n:04d}", 1, item_id=100_000 + n, author=user(f"u{n}", 10 + n), created=old)
        os.environ.update(
            GITHUB_API_URL=fake.api,
            GITHUB_ORG="acme",
            GITHUB_REPOS=tracked,
            DB_URL=db_url,
            FAN_OUT="false",
            LOCAL_TIME_BUDGET_SECONDS="100000",
        )
        config.reset_caches()
        create_all(db_url)
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            fake.install(mock)
            run_job("daily")  # the first check stores what is missing; the one measured is a steady day's
            before = fake.requests["search"]
            run_job("daily")
            return fake.requests["search"] - before

    whole_org = steady_daily_searches("*", repos)
    named = steady_daily_searches(",".join(f"repo-{n:04d}" for n in range(repos)), 3 * repos)
    per_repo = 2 * repos
    return {
        "repos": repos,
        "searches_whole_org": whole_org,
        "searches_named_in_a_larger_org": named,
        "searches_per_repo_checks": per_repo,
        "minutes_whole_org": round(whole_org / SEARCHES_PER_MINUTE, 2),
        "minutes_named_in_a_larger_org": round(named / SEARCHES_PER_MINUTE, 2),
        "minutes_per_repo_checks": round(per_repo / SEARCHES_PER_MINUTE, 1),
        "ratio_named_to_per_repo": round(named / per_repo, 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=400)
    parser.add_argument("--repos", type=int, default=500)
    args = parser.parse_args()
    latency = measure_latency(args.deliveries)
    fan_out = measure_fan_out(args.repos)
    polling = {"latency_minutes_p50": POLL_EVERY_MINUTES / 2, "latency_minutes_p95": 0.95 * POLL_EVERY_MINUTES}
    result = {"measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "webhooks": latency}
    result.update(fan_out=fan_out, polling=polling)
    ratio = latency["latency_ms_p50"] / (polling["latency_minutes_p50"] * 60_000)
    print(
        f"webhooks: {latency['deliveries']} deliveries, event to row p50 {latency['latency_ms_p50']} ms, p95 "
        f"{latency['latency_ms_p95']} ms; polling every {POLL_EVERY_MINUTES} min: p50 "
        f"{polling['latency_minutes_p50']:g} min, p95 {polling['latency_minutes_p95']:g} min plus the run "
        f"(p50 ratio {ratio:.6f})"
    )
    per_delivery = latency["github_requests_per_delivery"]
    print("GitHub requests per delivery: " + ", ".join(f"{kind} {n:g}" for kind, n in per_delivery.items()))
    print(
        f"daily's check, a steady day of {fan_out['repos']} repos: {fan_out['searches_whole_org']} searches as a "
        f"whole org ({fan_out['minutes_whole_org']:g} min of GitHub's), {fan_out['searches_named_in_a_larger_org']} "
        f"as named repos of a larger org ({fan_out['minutes_named_in_a_larger_org']:g} min), against "
        f"{fan_out['searches_per_repo_checks']} for per-repo checks ({fan_out['minutes_per_repo_checks']:g} min; "
        f"ratio {fan_out['ratio_named_to_per_repo']})"
    )
    save_result("webhooks", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
