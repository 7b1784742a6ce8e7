"""What a full load with timeline events costs in GitHub requests, three ways, on one synthetic org served on
127.0.0.1: per-item timelines (`EVENTS_SOURCE=timelines`), tap-github's strategy (issue and PR lists, repo issue
events, repo comments, reviews per PR: computed on the same data), and ours (repo listings, reviews in bulk through
GraphQL), once as GitHub serves it and once with the busiest repo's issue events refused past page 3 (422, as
github.com does past some depth), its items then read by their own timelines. Then a quiet half hour of
`nrt_events`. Event ids are past 2^31, as on github.com. Each load and job runs as its own process, as from the
command line, so its peak memory is the sync's alone (the fake org lives in the bench's process).

    python3 -m bench.events_cost [--items 5418] [--scale 1]

Checks that every load stores the same `events` table row for row. Prints a table and writes
bench/results/events_cost.json.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta

from bench import scenario
from bench.scenario import ROOT
from chalicelib.config import DEFAULT_REPOS
from chalicelib.db import create_db_session
from chalicelib.models import Event
from tests.fake import commented, reviewed, serve, ts, user

# GitHub prices a query by the connections it opens, per hundred: fifty PRs' reviews (first 100) is 50 -> 1 point.
GRAPHQL_POINTS_PER_QUERY = 1


def pages(count: int) -> int:
    return max(1, math.ceil(count / 100))


def tap_github_requests(fake) -> int:
    """tap-github's streams on the same data: issues (PRs included) and PR lists, repo issue events, repo comments,
    and one reviews request per PR."""
    total = 0
    for repo in DEFAULT_REPOS:
        items = [p for p in fake.items.values() if p["repository_url"].endswith(f"/{repo}")]
        prs = [p for p in items if "pull_request" in p]
        events = [e for p in items for e in fake.timelines.get(p["id"], [])]
        issue_events = [e for e in events if e.get("id") and e["event"] not in fake.TIMELINE_ONLY]
        comments = [e for e in events if e["event"] == "commented"]
        total += pages(len(items)) + pages(len(prs)) + pages(len(issue_events)) + pages(len(comments)) + len(prs)
    return total


def events_table(db_url: str) -> set[tuple]:
    session = create_db_session(db_url)
    try:
        return {(row.id, row.issue_id, row.row_hash) for row in session.query(Event.id, Event.issue_id, Event.row_hash)}
    finally:
        session.close()


# Runs a script as __main__ and, at exit, writes its peak resident memory (VmHWM, which exec resets) to a file.
# The child's ru_maxrss would not do: it keeps the high-water mark of the bench process it was forked from.
MEASURED = """
import atexit, runpy, sys
def record_peak(path=sys.argv.pop(1)):
    status = open("/proc/self/status").read()
    kilobytes = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    open(path, "w").write(kilobytes)
atexit.register(record_peak)
sys.argv.pop(0)
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run_counted(fake, command: list[str], **settings: str) -> tuple[dict, int]:
    """Runs one command line of the app in its own process; returns the requests it sent by kind and its peak
    memory in MB."""
    before = dict(fake.requests)
    with tempfile.NamedTemporaryFile("r") as peak:
        process = subprocess.run(
            [sys.executable, "-c", MEASURED, peak.name, *command], cwd=ROOT, env={**os.environ, **settings}
        )
        if process.returncode != 0:
            raise SystemExit(f"{' '.join(command)} exited with {process.returncode}")
        peak_mb = round(int(peak.read()) / 1024)
    counts = {kind: fake.requests.get(kind, 0) - before.get(kind, 0) for kind in ("search", "core", "graphql")}
    return counts, peak_mb


def load(fake, db_url: str, source: str, since: datetime, now: datetime) -> tuple[dict, int]:
    period = ["--since", since.date().isoformat(), "--until", now.date().isoformat()]
    return run_counted(fake, ["backfill.py", *period, "--events"], DB_URL=db_url, EVENTS_SOURCE=source)


def quiet_half_hour(fake, now: datetime, seed: int = 3) -> tuple[int, set[tuple[int, int]]]:
    """Ten issues get a comment, three PRs a review; returns how many PRs changed and the new events' keys."""
    import random

    rng = random.Random(seed)
    stamp = ts(now)
    open_items = sorted((p for p in fake.items.values() if p["state"] == "open"), key=lambda p: p["id"])
    issues = [p for p in open_items if "pull_request" not in p]
    pulls = [p for p in open_items if "pull_request" in p]
    added = set()
    for payload in rng.sample(issues, 10):
        fake.timelines[payload["id"]].append(
            commented(scenario.EVENT_IDS + 800_000_000 + payload["id"], user("newcomer", 77_001), stamp)
        )
        payload["updated_at"] = stamp
        added.add((scenario.EVENT_IDS + 800_000_000 + payload["id"], payload["id"]))
    for payload in rng.sample(pulls, 3):
        owner_repo = payload["repository_url"].split("/repos/", 1)[1]
        fake.timelines[payload["id"]].append(
            reviewed(
                scenario.EVENT_IDS + 810_000_000 + payload["id"],
                fake.members[0],
                stamp,
                pull=f"{owner_repo}/{payload['number']}",
            )
        )
        payload["updated_at"] = stamp
        added.add((scenario.EVENT_IDS + 810_000_000 + payload["id"], payload["id"]))
    return 3, added


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5418, help="issues and PRs at scale 1 (Amplify's size)")
    parser.add_argument("--scale", type=int, default=1, help="multiply the org's size")
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    fake, server = serve(lambda url: scenario.build(url, now, items=args.items * args.scale))
    scenario.full_history(fake, now)
    workdir = tempfile.mkdtemp(prefix="bench-events-")
    scenario.aim_the_app_at(fake, LOCAL_TIME_BUDGET_SECONDS="100000")
    logging.basicConfig(level=logging.WARNING)
    since = now - timedelta(days=365 * scenario.YEARS + 1)
    per_item_db, ours_db = f"sqlite:///{workdir}/per-item.db", f"sqlite:///{workdir}/listings.db"
    per_item, per_item_memory = load(fake, per_item_db, "timelines", since, now)
    ours, ours_memory = load(fake, ours_db, "listings", since, now)
    busiest = DEFAULT_REPOS[0]
    fake.listing_depth_limit[busiest] = 3
    refused_db = f"sqlite:///{workdir}/refused.db"
    refused, _ = load(fake, refused_db, "listings", since, now)
    fake.listing_depth_limit.clear()
    tap = tap_github_requests(fake)
    reference = events_table(per_item_db)
    same = reference == events_table(ours_db)
    same_refused = reference == events_table(refused_db)
    rows = len(events_table(ours_db))
    run_counted(fake, ["app.py", "nrt_events"], DB_URL=ours_db, EVENTS_SOURCE="listings")
    # Stamped with the real clock: a run searches up to its own start, so a change stamped later is not seen yet.
    changed_prs, added = quiet_half_hour(fake, datetime.now(UTC).replace(microsecond=0))
    steady, steady_memory = run_counted(fake, ["app.py", "nrt_events"], DB_URL=ours_db, EVENTS_SOURCE="listings")
    server.shutdown()
    stored = {(event_id, item_id) for event_id, item_id, _ in events_table(ours_db)}
    caught_up = added <= stored
    total = lambda counts: sum(counts.values())  # noqa: E731 - a one-line sum of request kinds
    steady_target = 3 * len(DEFAULT_REPOS) + changed_prs
    result = {
        "measured_at": now.isoformat(),
        "scale": args.scale,
        "items": len(fake.items),
        "events_rows": rows,
        "per_item_timelines": {**per_item, "total": total(per_item)},
        "tap_github_strategy": {"core": tap, "total": tap},
        "ours": {**ours, "total": total(ours), "graphql_points": ours["graphql"] * GRAPHQL_POINTS_PER_QUERY},
        "ratio_to_tap_github": round(total(ours) / tap, 3),
        "ours_refused_listing": {**refused, "total": total(refused), "repo": busiest, "refused_past_page": 3},
        "ratio_refused_to_tap_github": round(total(refused) / tap, 3),
        "target_ratio": 0.2,
        "rows_identical": same,
        "rows_identical_refused_listing": same_refused,
        "contract_departures": sorted(set(fake.contract_violations)),
        "nrt_steady_state": {
            **steady,
            "total": total(steady),
            "target": steady_target,
            "changed_prs": changed_prs,
            "new_events_stored": caught_up,
        },
        "peak_memory_mb": {"per_item_load": per_item_memory, "our_load": ours_memory, "nrt_events": steady_memory},
    }
    print(f"synthetic org: {len(fake.items)} issues and PRs, {rows} tracked events (scale {args.scale})")
    print(f"{'full load with events':<34}{'search':>8}{'core':>8}{'graphql':>9}{'total':>8}")
    for name, counts in (
        ("per-item timelines", per_item),
        ("ours: listings + GraphQL reviews", ours),
        (f"ours, {busiest} refused past p.3", refused),
    ):
        print(f"{name:<34}{counts['search']:>8}{counts['core']:>8}{counts['graphql']:>9}{total(counts):>8}")
    print(f"{'tap-github strategy (computed)':<34}{'':>8}{tap:>8}{'':>9}{tap:>8}")
    print(
        f"ours / tap-github: {result['ratio_to_tap_github']}, with the refused listing "
        f"{result['ratio_refused_to_tap_github']} (target <= 0.2); events tables identical to per-item: {same}, "
        f"{same_refused}; GraphQL: {ours['graphql']} queries, {result['ours']['graphql_points']} points"
    )
    print(
        f"nrt_events after a quiet half hour: {total(steady)} requests ({steady}), target <= {steady_target} "
        f"(3 per repo + 1 per changed PR); its {len(added)} new events stored: {caught_up}"
    )
    print(
        f"peak memory of the sync process: per-item load {per_item_memory} MB, our load {ours_memory} MB, "
        f"nrt_events {steady_memory} MB"
    )
    print(scenario.contract_line(fake))
    scenario.save_result(f"events_cost_x{args.scale}", result)
    return 0 if same and same_refused and caught_up and not fake.contract_violations else 1


if __name__ == "__main__":
    raise SystemExit(main())
