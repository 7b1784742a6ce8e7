"""A synthetic org for the benchmarks, the same for a given seed and moment: 16 repos, ~20,000 issues and PRs
over three years (one repo well over 2,500), recent activity, members, timelines with ETags, a few transfers."""

from __future__ import annotations

import json
import os
import random
from datetime import datetime, timedelta
from pathlib import Path

from chalicelib.config import DEFAULT_REPOS
from tests.fake import FakeGitHub, closed, commented, labeled, reviewed, ts, user

ROOT = Path(__file__).resolve().parents[1]

ORG = "aws-amplify"
YEARS = 3
# Share of the org's items per repo: the first is the busy one (about a quarter of everything).
WEIGHTS = [25, 12, 10, 8, 7, 6, 6, 5, 5, 4, 3, 3, 2, 2, 1, 1]
# Event ids start past 2^31, as comment and review ids on github.com have since 2024 (GraphQL's Int cannot hold
# them): a strategy that reads them through `databaseId` fails here as it would there.
EVENT_IDS = 3_000_000_000
# Answers of each operation and status checked against GitHub's API description (a whole org is too many).
CONTRACT_SAMPLE = 25


def build(api_url: str, now: datetime, *, items: int = 20_000, seed: int = 7) -> FakeGitHub:
    rng = random.Random(seed)
    fake = FakeGitHub(api=api_url, org=ORG, contract_sample=CONTRACT_SAMPLE)
    fake.repos = [{"name": name, "archived": False} for name in DEFAULT_REPOS]
    people = [user(f"user{n}", 10_000 + n) for n in range(3000)]
    fake.members = [user(f"maintainer{n}", 1000 + n) for n in range(120)]
    start = now - timedelta(days=365 * YEARS)
    span = (now - start).total_seconds()
    next_id = 1
    for repo, weight in zip(DEFAULT_REPOS, WEIGHTS, strict=False):
        count = items * weight // sum(WEIGHTS)
        for number in range(1, count + 1):
            created = start + timedelta(seconds=span * (number - 1 + rng.random()) / count)
            age = now - created
            is_pr = rng.random() < 0.4
            closed = merged = None
            if rng.random() < min(0.95, age.days / 30):
                closed = min(now - timedelta(minutes=1), created + timedelta(hours=rng.expovariate(1 / 200)))
                if is_pr and rng.random() < 0.7:
                    merged = closed
            updated = closed or created
            if rng.random() < 0.3:
                updated = min(now - timedelta(minutes=1), updated + timedelta(hours=rng.expovariate(1 / 300)))
            author = rng.choice(people) if rng.random() > 0.01 else None
            fake.new_item(
                repo,
                number,
                item_id=next_id,
                author=author,
                created=ts(created),
                updated=ts(updated),
                closed=ts(closed) if closed else None,
                pr=is_pr,
                merged=ts(merged) if merged else None,
                comments=rng.randint(0, 12),
            )
            next_id += 1
    for payload in recent(fake, now, timedelta(days=1)):
        size = rng.choice([3, 12, 40, 99, 100, 130, 260])
        created = payload["created_at"]
        fake.timelines[payload["id"]] = [
            commented(EVENT_IDS + 900_000_000 + payload["id"] * 1000 + n, rng.choice(people), created)
            if n % 3
            else labeled(EVENT_IDS + 900_000_000 + payload["id"] * 1000 + n, rng.choice(fake.members), created, "bug")
            for n in range(size)
        ]
    return fake


def recent(fake: FakeGitHub, now: datetime, window: timedelta) -> list[dict]:
    since = ts(now - window)
    return [p for p in fake.items.values() if p["updated_at"] >= since]


def half_an_hour_of_activity(fake: FakeGitHub, now: datetime, seed: int = 11) -> None:
    """What a quiet org does in 30 minutes: a few new items, a close, new comments, three transfers."""
    rng = random.Random(seed)
    stamp = ts(now)
    repos = list(DEFAULT_REPOS)
    for n in range(3):
        fake.new_item(
            repos[n], 90_000 + n, item_id=5_000_000 + n, author=user(f"newcomer{n}", 77_000 + n), created=stamp
        )
    open_items = sorted((p for p in fake.items.values() if p["state"] == "open"), key=lambda p: p["id"])
    for payload in rng.sample(open_items, 2):
        payload.update(state="closed", closed_at=stamp, updated_at=stamp)
    for payload in rng.sample(list(recent(fake, now, timedelta(days=1))), 5):
        payload["updated_at"] = stamp
        fake.timelines.setdefault(payload["id"], []).append(
            commented(EVENT_IDS + 800_000_000 + payload["id"], None, stamp)
        )
    issues = [p for p in open_items if "pull_request" not in p and p["repository_url"].endswith("/docs")]
    for offset, old in enumerate(issues[:3]):
        fake.transfer(old, "amplify-js", 80_000 + offset, new_id=6_000_000 + offset)


def full_history(fake: FakeGitHub, now: datetime, seed: int = 13) -> None:
    """Give every item a timeline as busy orgs have: comments by outsiders and maintainers, a label, a close for
    closed items, and one to three reviews by maintainers on pull requests."""
    rng = random.Random(seed)
    people = [user(f"user{n}", 10_000 + n) for n in range(300)]
    for payload in fake.items.values():
        created = datetime.fromisoformat(payload["created_at"].replace("Z", "+00:00"))
        first_id = EVENT_IDS + 600_000_000 + payload["id"] * 20
        events = []
        for n in range(rng.choice([0, 1, 2, 3, 4, 6])):
            author = rng.choice(fake.members) if n % 2 else rng.choice(people)
            events.append(commented(first_id + n, author, ts(min(now, created + timedelta(hours=5 * n + 1)))))
        events.append(labeled(first_id + 10, rng.choice(fake.members), ts(created + timedelta(minutes=30)), "triage"))
        if "pull_request" in payload:
            owner_repo = payload["repository_url"].split("/repos/", 1)[1]
            for n in range(rng.choice([1, 1, 2, 3])):
                events.append(
                    reviewed(
                        first_id + 12 + n,
                        rng.choice(fake.members),
                        ts(min(now, created + timedelta(hours=3 + n))),
                        pull=f"{owner_repo}/{payload['number']}",
                    )
                )
        if payload["closed_at"]:
            events.append(closed(first_id + 19, rng.choice(fake.members), payload["closed_at"]))
        fake.timelines[payload["id"]] = events


def aim_the_app_at(fake: FakeGitHub, **settings: str) -> None:
    """The environment the app's commands read, set for the fake org: every repo of it, a token it accepts, and
    `settings` on top."""
    os.environ.update(GITHUB_API_URL=fake.api, GITHUB_ORG=ORG, GH_TOKEN="bench-token", **settings)
    os.environ.pop("GITHUB_REPOS", None)


def contract_line(fake: FakeGitHub) -> str:
    """What the bench's answers departed from GitHub's API description (checked on a sample of each)."""
    departures = sorted(set(fake.contract_violations))
    if not departures:
        return f"fake checked against GitHub's API description ({CONTRACT_SAMPLE} answers per operation): no departure"
    return "departures from GitHub's API description:\n  " + "\n  ".join(departures[:20])


def save_result(name: str, result: dict) -> None:
    """bench/results/<name>.json (the folder is not committed: the README carries the figures)."""
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / f"{name}.json").write_text(json.dumps(result, indent=2))
