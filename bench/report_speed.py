"""How long the report takes on a large org, against the baseline of reading its views whole (what it did before
the database filtered for it), on the same database in the same run.

    python3 -m bench.report_speed [--scale 10] [--db URL]

Loads the synthetic org of bench/events_cost.py with `backfill.py --events` (SQLite in a temporary directory, or
the empty database at --db, e.g. `bash tests/with-postgres sh -c 'python3 -m bench.report_speed --db
"$TEST_PG_URL"'`), then times the report of the last 90 days, best of three. Writes
bench/results/report_speed_<dialect>_x<scale>.json.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from bench import scenario
from bench.events_cost import load
from chalicelib.db import get_engine
from chalicelib.report import build_report
from tests.fake import serve

REPORT_DAYS = 90
VIEWS_THE_REPORT_READS = ("first_response", "outsider_prs", "needs_follow_up", "trending")


def best_of_three(work) -> float:
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return min(timings)


def read_views_whole(engine) -> None:
    with engine.connect() as connection:
        for view in VIEWS_THE_REPORT_READS:
            connection.execute(text(f"SELECT * FROM {view}")).all()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10, help="multiply Amplify's size (5,418 issues and PRs)")
    parser.add_argument("--db", help="an empty database to load (default: SQLite in a temporary directory)")
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    fake, server = serve(lambda url: scenario.build(url, now, items=5418 * args.scale))
    scenario.full_history(fake, now)
    scenario.aim_the_app_at(fake, LOCAL_TIME_BUDGET_SECONDS="100000")
    db_url = args.db or f"sqlite:///{tempfile.mkdtemp(prefix='bench-report-')}/report.db"
    load(fake, db_url, "listings", now - timedelta(days=365 * scenario.YEARS + 1), now)
    server.shutdown()
    engine = get_engine(db_url)
    since, until = (now - timedelta(days=REPORT_DAYS)).date(), now.date()
    report = build_report(engine, since, until, None, 72.0)
    ours = best_of_three(lambda: build_report(engine, since, until, None, 72.0))
    baseline = best_of_three(lambda: read_views_whole(engine))
    result = {
        "measured_at": now.isoformat(),
        "database": engine.dialect.name,
        "scale": args.scale,
        "items": len(fake.items),
        "report_days": REPORT_DAYS,
        "outsider_items_in_period": report.overall.outsider_items if report.overall else 0,
        "report_seconds": round(ours, 2),
        "baseline_views_read_whole_seconds": round(baseline, 2),
        "ratio": round(ours / baseline, 2),
    }
    print(
        f"{engine.dialect.name}, {len(fake.items)} issues and PRs (scale {args.scale}): the {REPORT_DAYS}-day report "
        f"({result['outsider_items_in_period']} outsider items) in {ours:.2f} s; reading its four views whole "
        f"(the baseline) {baseline:.2f} s; ratio {result['ratio']}"
    )
    scenario.save_result(f"report_speed_{engine.dialect.name}_x{args.scale}", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
