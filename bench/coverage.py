"""How long `nrt_events` alone takes to read every timeline of a database filled without them (a plain backfill),
at GitHub's real core limit (5,000 requests an hour) and a Lambda's 300 s, on a synthetic org served on 127.0.0.1.

    python3 -m bench.coverage [--items 5418] [--latency 0.4]

Time is simulated: each request GitHub answers advances a clock by `--latency` seconds divided by the timeline
workers (4), the function stops at 280 s of that clock, a run starts every 10 minutes and the core bucket refills
to 5,000 every six runs. The baseline is the same org read by `backfill.py --events` (one request per timeline
page), the fewest requests any per-item strategy needs. Prints the runs and hours to full coverage and writes
bench/results/coverage.json.
"""

from __future__ import annotations

import argparse
import logging
import random
import tempfile
from datetime import UTC, datetime, timedelta

from bench import scenario
from chalicelib import config
from chalicelib.context import Deadline
from chalicelib.models import TimelineRead, create_db_session
from chalicelib.runner import run_job
from tests.fake_github import commented, serve

CORE_LIMIT = 5000
RUN_EVERY_MINUTES = 10
LAMBDA_SECONDS = 280
WORKERS = 4


def give_every_item_a_timeline(fake, seed: int = 5) -> int:
    """Scenario orgs give timelines to recent items only; here every item has one (1 to 260 events)."""
    rng = random.Random(seed)
    pages = 0
    for payload in fake.items.values():
        if payload["id"] not in fake.timelines:
            size = rng.choice([1, 2, 3, 5, 8, 12, 40, 120])
            fake.timelines[payload["id"]] = [
                commented(700_000_000 + payload["id"] * 300 + n, None, payload["created_at"]) for n in range(size)
            ]
        pages += max(1, -(-len(fake.timelines[payload["id"]]) // 100))
    return pages


def read_count(db_url: str) -> int:
    session = create_db_session(db_url)
    try:
        return session.query(TimelineRead).count()
    finally:
        session.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5418, help="issues and PRs (Amplify's size: 5,418)")
    parser.add_argument("--latency", type=float, default=0.4, help="seconds GitHub takes to answer one request")
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    fake, server = serve(lambda url: scenario.build(url, now, items=args.items))
    pages = give_every_item_a_timeline(fake)
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
    runs, core_before, history = 0, fake.requests["core"], []
    while read_count(db_url) < total and runs < 1000:
        if runs % (60 // RUN_EVERY_MINUTES) == 0:
            fake.core_remaining = CORE_LIMIT
        started = clock["seconds"]
        deadline = Deadline(lambda started=started: LAMBDA_SECONDS - (clock["seconds"] - started))
        run_job("nrt_events", deadline=deadline)
        runs += 1
        history.append({"run": runs, "read": read_count(db_url), "seconds": round(clock["seconds"] - started, 1)})
    server.shutdown()
    hours = runs * RUN_EVERY_MINUTES / 60
    core = fake.requests["core"] - core_before
    result = {
        "measured_at": now.isoformat(),
        "items": total,
        "timeline_pages": pages,
        "latency_seconds": args.latency,
        "runs_to_full_coverage": runs,
        "hours_to_full_coverage": round(hours, 2),
        "core_requests": core,
        "baseline_core_requests": pages,
        "ratio_to_baseline": round(core / pages, 3),
        "runs": history,
    }
    print(f"synthetic org: {total} issues and PRs, {pages} timeline pages")
    print(f"{'run':>4}{'timelines read':>16}{'simulated s':>13}")
    for row in history:
        print(f"{row['run']:>4}{row['read']:>16}{row['seconds']:>13}")
    print(
        f"full coverage after {runs} nrt_events runs: {hours:.1f} hours at {CORE_LIMIT} core requests/hour; "
        f"{core} core requests against {pages} for backfill --events (ratio {core / pages:.2f})"
    )
    scenario.save_result("coverage", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
