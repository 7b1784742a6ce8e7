"""Cost at scale: a synthetic org of 500 and of 2,000 repos (a tenth of them busy, the rest quiet) after a
fanned-out backfill with events, through two simulated hours of the schedule (nrt_events every 10 minutes,
every_30_min every 30, one fanned-out daily): hour 1 busy, hour 2 quiet. Prints per job and per hour the counted
REST requests, searches, GraphQL queries, HTTP requests, 304s, wall time and peak memory, each budget's share of
an App installation's hour, the most requests one endpoint got in a minute, and the slope from the smaller org
to the larger, so growth per repo is visible.

    python3 -m bench.scale [--sizes 500,2000] [--hours 2]

Time is simulated, not slept: time-machine moves the clock the app and the fake both read by 10 minutes between
runs (a run itself takes the real time it takes). The fan-out's messages are taken one after another in this
process (what ten workers would share), and what GitHub's 30 searches a minute make of them is printed beside.
Writes bench/results/scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import time_machine
from moto import mock_aws

from bench import scenario
from chalicelib import config
from chalicelib.github.limits import endpoint_of
from tests.fake import FakeGitHub, commented, labeled, serve, ts, user

ORG = "scale-org"
STAGE = "bench"
INSTALLATION_HOURLY = 12_500
SEARCHES_HOURLY = 30 * 60
GRAPHQL_HOURLY = 5_000
STEP = timedelta(minutes=10)
BUSY_SHARE = 10  # one repo in this many is busy
COUNTED = ("core", "search", "graphql")
real_sleep = time.sleep


def build(api_url: str, repos: int, now: datetime, seed: int = 5) -> FakeGitHub:
    """`repos` repos; a quiet one holds 3 items of the last half year, a busy one 25 of the last month; every item
    has a comment and a label."""
    rng = random.Random(seed)
    fake = FakeGitHub(api=api_url, org=ORG, contract_sample=3, rate_limit=INSTALLATION_HOURLY)
    fake.repos = [{"name": f"repo-{n:04d}", "archived": False} for n in range(repos)]
    fake.members = [user(f"maintainer{n}", 1000 + n) for n in range(40)]
    people = [user(f"user{n}", 10_000 + n) for n in range(500)]
    next_id = 1
    for index, repo in enumerate(fake.repos):
        busy = index % BUSY_SHARE == 0
        for number in range(1, (25 if busy else 3) + 1):
            created = now - timedelta(hours=rng.uniform(2, 24 * (30 if busy else 180)))
            closed = created + timedelta(hours=rng.uniform(1, 48)) if rng.random() < 0.6 else None
            closed = closed if closed and closed < now else None
            payload = fake.new_item(
                repo["name"],
                number,
                item_id=next_id,
                author=rng.choice(people),
                created=ts(created),
                updated=ts(closed or created),
                closed=ts(closed) if closed else None,
                pr=rng.random() < 0.4,
            )
            fake.timelines[next_id] = [
                commented(scenario.EVENT_IDS + next_id * 10, rng.choice(fake.members), payload["created_at"]),
                labeled(scenario.EVENT_IDS + next_id * 10 + 1, rng.choice(fake.members), payload["created_at"], "bug"),
            ]
            next_id += 1
    return fake


def ten_busy_minutes(fake: FakeGitHub, now: datetime, rng: random.Random) -> None:
    """A tenth of the busy repos get a comment on an item, a few a new issue."""
    stamp = ts(now - timedelta(minutes=1))
    busy = [repo["name"] for index, repo in enumerate(fake.repos) if index % BUSY_SHARE == 0]
    for repo in rng.sample(busy, max(1, len(busy) // 10)):
        payload = rng.choice(fake._repo_items(repo))
        payload["updated_at"] = stamp
        fake.timelines.setdefault(payload["id"], []).append(
            commented(scenario.EVENT_IDS + 500_000_000 + len(fake.log), user("visitor", 99_000), stamp)
        )
    for repo in rng.sample(busy, max(1, len(busy) // 40)):
        number = 1000 + len(fake._repo_items(repo))
        fake.new_item(repo, number, item_id=9_000_000 + len(fake.items), author=user("newcomer", 98_000), created=stamp)


class Meter:
    """Each run's requests as the fake counted them (a 304 is not counted, as on GitHub), its wall time and the
    process's peak resident memory so far (app, fake and moto together, in this one process: a run that needs
    more than the runs before it raises it)."""

    def __init__(self, fake: FakeGitHub):
        self.fake, self.rows = fake, []
        self.stamps: list[tuple[float, str]] = []
        self.waited = 0.0
        fake.on_request = lambda path: self.stamps.append((time.time(), endpoint_of("GET", path)))

    def simulated_sleep(self, clock):
        """What the app's waits (its per-minute share, pacing near the reserve) become: the clock moves on."""

        def sleep(seconds: float) -> None:
            self.waited += seconds
            clock.shift(timedelta(seconds=seconds))

        return sleep

    def run(self, job: str, hour: int, action) -> dict:
        before, stamps_from, waited = Counter(self.fake.requests), len(self.stamps), self.waited
        started = time.perf_counter()
        action()
        wall = time.perf_counter() - started
        used = {kind: self.fake.requests[kind] - before[kind] for kind in (*COUNTED, "not_modified")}
        row = {
            "job": job,
            "hour": hour,
            **used,
            "http": sum(used.values()),
            "wall_s": round(wall, 2),
            "waited_s": round(self.waited - waited),
            "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "busiest_endpoint_minute": busiest_minute(self.stamps[stamps_from:]),
        }
        self.rows.append(row)
        print(f"  {job} (hour {hour}): {row['http']} requests, {row['wall_s']} s", file=sys.stderr, flush=True)
        return row


def busiest_minute(stamps: list[tuple[float, str]]) -> int:
    """The most requests one endpoint got within any 60 seconds (304s included: GitHub counts load)."""
    by_endpoint: dict[str, list[float]] = defaultdict(list)
    for at, endpoint in stamps:
        by_endpoint[endpoint].append(at)
    most = 0
    for times in by_endpoint.values():
        times.sort()
        start = 0
        for end, at in enumerate(times):
            while at - times[start] >= 60:
                start += 1
            most = max(most, end - start + 1)
    return most


class FanOut:
    """The fan-out's messages as `fanout.send` queues them, taken one after another in this process as
    repo_work_item would take them from SQS (moto's queue scans every message on each receive, which at 2,000
    messages would be what this bench measured)."""

    def __init__(self):
        self.queued: list[dict] = []

    def send(self, _stage: str, messages: list[dict]) -> int:
        self.queued += messages
        return len(messages)

    def drain(self) -> int:
        from chalicelib import repo_work

        taken = 0
        while self.queued:
            repo_work.work(json.dumps(self.queued.pop(0)))
            taken += 1
        return taken


def measure(repos: int, hours: int) -> dict:
    """One org size: its backfill, warm-up and simulated hours; rows per run and totals per hour."""
    import backfill
    from chalicelib import fanout, runner
    from chalicelib.runner import run_job

    now = datetime.now(UTC).replace(microsecond=0)
    fake, server = serve(lambda url: build(url, repos, now))
    workdir = tempfile.mkdtemp(prefix=f"bench-scale-{repos}-")
    os.environ.update(
        GITHUB_API_URL=fake.api,
        GITHUB_ORG=ORG,
        GITHUB_REPOS="*",
        GH_TOKEN="bench-token",
        DB_URL=f"sqlite:///{workdir}/scale.db",
        LOCAL_TIME_BUDGET_SECONDS="100000",
        FAN_OUT="true",
        STAGE=STAGE,
        AWS_DEFAULT_REGION="us-east-1",
    )
    config.reset_caches()
    meter, rng, queue = Meter(fake), random.Random(3), FanOut()
    fanout.send = queue.send
    # The fake is served on 127.0.0.1: the app keeps to its share of github.com's per-minute limits there too.
    runner.GITHUB_COM_API = "127.0.0.1"
    with mock_aws(), time_machine.travel(now, tick=True) as clock:
        time.sleep = meter.simulated_sleep(clock)
        since = (now - timedelta(days=200)).date().isoformat()
        meter.run(
            "backfill --events --fan-out",
            0,
            lambda: (
                backfill.main(["--since", since, "--until", now.date().isoformat(), "--events", "--fan-out"]),
                queue.drain(),
            ),
        )
        meter.run("every_30_min (first)", 0, lambda: run_job("every_30_min"))
        meter.run("nrt_events (first)", 0, lambda: run_job("nrt_events"))
        for step in range(1, hours * 6 + 1):
            clock.shift(STEP)
            hour = (step - 1) // 6 + 1
            if hour == 1:
                ten_busy_minutes(fake, datetime.now(UTC), rng)
            meter.run("nrt_events", hour, lambda: run_job("nrt_events"))
            if step % 3 == 0:
                meter.run("every_30_min", hour, lambda: run_job("every_30_min"))
            if step == 6:
                meter.run("daily (fanned out)", hour, lambda: (run_job("daily"), queue.drain()))
    time.sleep = real_sleep
    server.shutdown()
    return {
        "repos": repos,
        "items": len(fake.items),
        "rows": meter.rows,
        "hours": per_hour(meter.rows, hours),
        "contract": scenario.contract_line(fake),
    }


def per_hour(rows: list[dict], hours: int) -> list[dict]:
    """The polling jobs' (nrt_events, every_30_min) totals per simulated hour and their share of each budget."""
    totals = []
    for hour in range(1, hours + 1):
        polling = [r for r in rows if r["hour"] == hour and r["job"] in ("nrt_events", "every_30_min")]
        sums = {kind: sum(r[kind] for r in polling) for kind in (*COUNTED, "not_modified", "http")}
        totals.append(
            {
                "hour": hour,
                "kind": "busy" if hour == 1 else "quiet",
                **sums,
                "rest_share": round(sums["core"] / INSTALLATION_HOURLY, 4),
                "search_share": round(sums["search"] / SEARCHES_HOURLY, 4),
                "graphql_share": round(sums["graphql"] / GRAPHQL_HOURLY, 4),
                "wall_s": round(sum(r["wall_s"] for r in polling), 1),
            }
        )
    return totals


def print_size(result: dict) -> None:
    print(f"\n{result['repos']} repos, {result['items']} issues and PRs")
    header = (
        f"{'job':<30}{'hour':>5}{'core':>8}{'search':>8}{'graphql':>8}{'304':>7}{'http':>7}{'wall s':>8}"
        f"{'peak RSS MB':>12}{'1 endpoint/min':>16}{'waited s':>10}"
    )
    print(header + "\n" + "-" * len(header))
    for row in result["rows"]:
        print(
            f"{row['job']:<30}{row['hour']:>5}{row['core']:>8}{row['search']:>8}{row['graphql']:>8}"
            f"{row['not_modified']:>7}{row['http']:>7}{row['wall_s']:>8}{row['peak_mb']:>12}"
            f"{row['busiest_endpoint_minute']:>16}{row['waited_s']:>10}"
        )
    print("polling jobs per hour (share of an installation's 12,500 REST, 1,800 searches, 5,000 GraphQL points):")
    for hour in result["hours"]:
        print(
            f"  hour {hour['hour']} ({hour['kind']}): {hour['core']} REST ({hour['rest_share']:.1%}), "
            f"{hour['search']} searches ({hour['search_share']:.1%}), {hour['graphql']} GraphQL "
            f"({hour['graphql_share']:.1%}), {hour['not_modified']} 304s, {hour['http']} HTTP, {hour['wall_s']} s"
        )
    daily = next(r for r in result["rows"] if r["job"].startswith("daily"))
    print(f"  daily: {daily['search']} searches, at 30 a minute {daily['search'] / 30:.1f} minutes of GitHub's time")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,2000")
    parser.add_argument("--hours", type=int, default=2)
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    results = [measure(int(size), args.hours) for size in args.sizes.split(",")]
    for result in results:
        print_size(result)
    small, large = results[0], results[-1]
    slopes = {}
    if large["repos"] > small["repos"]:
        for hour in range(args.hours):
            grow = large["hours"][hour]["core"] - small["hours"][hour]["core"]
            slopes[large["hours"][hour]["kind"]] = round(grow / (large["repos"] - small["repos"]), 4)
        print(
            f"\nslope {small['repos']} -> {large['repos']} repos, counted REST per repo per hour: "
            + ", ".join(f"{kind} {slope}" for kind, slope in slopes.items())
            + " (target for the quiet hour: under 0.05)"
        )
    for result in results:
        print(f"{result['repos']} repos: {result['contract']}")
    print(f"bench wall time {time.perf_counter() - started:.0f} s")
    scenario.save_result(
        "scale", {"measured_at": datetime.now(UTC).isoformat(), "sizes": results, "slope_per_repo_hour": slopes}
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
