"""How long `nrt_events` alone takes to read every event of a database filled without them (a plain backfill), at
GitHub's real core limit (5,000 requests an hour) and a Lambda's 300 s, on a synthetic org served on 127.0.0.1
whose comment and review ids are past 2^31.

    python3 -m bench.coverage [--items 5418] [--latency 0.4]

Time is simulated: each request GitHub answers advances a clock by `--latency` seconds divided by the timeline
workers (4), the function stops at 280 s of that clock, a run starts every 10 minutes and the core bucket refills
to 5,000 every six runs. After each run it counts the share of the org's tracked events stored (the fake's
timelines are the ground truth) and of items whose events are complete. The baseline is one request per
timeline page (what `backfill.py --events` per item needs, the fewest any per-item strategy needs). Target: 99%
of tracked events within four runs. Writes bench/results/coverage.json.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from datetime import UTC, datetime, timedelta

from bench import scenario
from chalicelib import config
from chalicelib.config import DEFAULT_TRACKED_EVENTS
from chalicelib.context import Deadline
from chalicelib.db import create_db_session
from chalicelib.models import Event, TimelineRead
from chalicelib.runner import run_job
from tests.fake import serve

CORE_LIMIT = 5000
RUN_EVERY_MINUTES = 10
LAMBDA_SECONDS = 280
WORKERS = 4


def tracked_events(fake) -> set[tuple[int, int]]:
    """(event id, item id) of every event the app tracks by default, from the fake's timelines."""
    tracked = frozenset(DEFAULT_TRACKED_EVENTS)
    return {
        (event["id"], item_id)
        for item_id, events in fake.timelines.items()
        for event in events
        if event.get("event") in tracked and event.get("id") is not None
    }


def timeline_pages(fake) -> int:
    return sum(max(1, -(-len(fake.timelines.get(item_id, [])) // 100)) for item_id in fake.items)


def stored(db_url: str) -> tuple[set[tuple[int, int]], int]:
    """The events stored (id, item id) and how many items are marked read."""
    session = create_db_session(db_url)
    try:
        events = {(row.id, row.issue_id) for row in session.query(Event.id, Event.issue_id)}
        return events, session.query(TimelineRead).count()
    finally:
        session.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5418, help="issues and PRs (Amplify's size: 5,418)")
    parser.add_argument("--latency", type=float, default=0.4, help="seconds GitHub takes to answer one request")
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    fake, server = serve(lambda url: scenario.build(url, now, items=args.items))
    scenario.full_history(fake, now)
    truth, pages = tracked_events(fake), timeline_pages(fake)
    workdir = tempfile.mkdtemp(prefix="bench-coverage-")
    db_url = f"sqlite:///{workdir}/bench.db"
    scenario.aim_the_app_at(fake, DB_URL=db_url)
    config.reset_caches()
    logging.basicConfig(level=logging.WARNING)
    import backfill

    since = now - timedelta(days=365 * scenario.YEARS + 1)
    backfill.main(["--since", since.date().isoformat(), "--until", now.date().isoformat()])
    total = len(fake.items)
    clock = {"seconds": 0.0}

    def answered(path: str) -> None:
        clock["seconds"] += args.latency / WORKERS

    fake.on_request = answered
    runs, before, history, read = 0, dict(fake.requests), [], 0
    while read < total and runs < 1000:
        if runs % (60 // RUN_EVERY_MINUTES) == 0:
            fake.core_remaining = CORE_LIMIT
        started = clock["seconds"]
        deadline = Deadline(lambda started=started: LAMBDA_SECONDS - (clock["seconds"] - started))
        run_job("nrt_events", deadline=deadline)
        runs += 1
        events, read = stored(db_url)
        share = len(events & truth) / len(truth)
        history.append(
            {
                "run": runs,
                "read": read,
                "events_share": round(share, 4),
                "seconds": round(clock["seconds"] - started, 1),
            }
        )
    server.shutdown()
    hours = runs * RUN_EVERY_MINUTES / 60
    spent = {kind: fake.requests.get(kind, 0) - before.get(kind, 0) for kind in ("core", "graphql", "not_modified")}
    to_99 = next((row["run"] for row in history if row["events_share"] >= 0.99), None)
    result = {
        "measured_at": now.isoformat(),
        "items": total,
        "tracked_events": len(truth),
        "timeline_pages": pages,
        "latency_seconds": args.latency,
        "runs_to_99_percent_of_events": to_99,
        "runs_to_full_coverage": runs,
        "hours_to_full_coverage": round(hours, 2),
        "requests": spent,
        "baseline_core_requests": pages,
        "ratio_to_baseline": round((spent["core"] + spent["graphql"]) / pages, 3),
        "contract_departures": sorted(set(fake.contract_violations)),
        "runs": history,
    }
    print(f"synthetic org: {total} issues and PRs, {len(truth)} tracked events, {pages} timeline pages")
    print(f"{'run':>4}{'items read':>12}{'events stored':>15}{'simulated s':>13}")
    for row in history:
        print(f"{row['run']:>4}{row['read']:>12}{row['events_share']:>14.2%}{row['seconds']:>13}")
    print(
        f"99% of tracked events after {to_99} runs (target <= 4); every item read after {runs} runs ({hours:.1f} h); "
        f"{spent['core']} core requests and {spent['graphql']} GraphQL queries against {pages} timeline pages per "
        f"item (ratio {result['ratio_to_baseline']:.2f})"
    )
    print(scenario.contract_line(fake))
    scenario.save_result("coverage", result)
    return 0 if to_99 is not None and to_99 <= 4 and not fake.contract_violations else 1


if __name__ == "__main__":
    raise SystemExit(main())
