"""GitHub request budget of every job against a synthetic org served on 127.0.0.1, next to the original design's
strategy computed on the same data in the same run.

    python3 -m bench.request_budget [--items 20000]

The baseline: one search per repo per query, two `/rate_limit` calls per search page (the original's measured
ratio: 165 of them for 83 searches), timelines without ETags on a cold cache and stopping at the first 304 when
warm, backfill by calendar quarter. Prints a table and writes bench/results/requests.json.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

from bench import scenario
from bench.scenario import ORG
from chalicelib import config
from chalicelib.config import DEFAULT_REPOS
from chalicelib.runner import run_job
from tests.fake import serve, ts

RATE_LIMIT_CALLS_PER_PAGE = 2
SEARCHES_PER_MINUTE = 30


def mark_every_timeline_read(db_url: str) -> None:
    """As after `backfill.py --events`: nrt_events measured here is its steady work, not filling coverage (the
    time that takes is bench/coverage.py's)."""
    from sqlalchemy import text

    from chalicelib.db import get_engine

    with get_engine(db_url).begin() as connection:
        for table in ("issues", "pull_requests"):
            connection.execute(
                text(
                    f"INSERT INTO timeline_reads (item_id, outcome) SELECT id, 'read' FROM {table} "
                    "WHERE id NOT IN (SELECT item_id FROM timeline_reads)"
                )
            )


def use_events_source(source: str) -> None:
    """The per-item path (ETags) or the per-repo listings, for the nrt_events runs that follow."""
    os.environ["EVENTS_SOURCE"] = source
    config.reset_caches()


def pages(count: int) -> int:
    return max(1, math.ceil(count / 100))


def original_searches(fake, queries: list[str]) -> int:
    return sum(pages(len(fake.matches(q))) for q in queries)


def per_repo(template: str) -> list[str]:
    return [template.format(repo=f"{ORG}/{repo}") for repo in DEFAULT_REPOS]


def baseline_every_30_min(fake, now: datetime) -> dict:
    new, closed, year = ts(now - timedelta(days=5)), ts(now - timedelta(weeks=1)), ts(now - timedelta(weeks=52))
    queries = (
        per_repo(f"repo:{{repo}} is:pr created:>={new}")
        + per_repo(f"repo:{{repo}} is:pr closed:>={closed}")
        + per_repo(f"repo:{{repo}} is:pr is:unmerged closed:>={year}")
        + per_repo(f"repo:{{repo}} is:issue created:>={new}")
        + per_repo(f"repo:{{repo}} is:issue closed:>={closed}")
    )
    searches = original_searches(fake, queries)
    return {"search": searches, "core": searches * RATE_LIMIT_CALLS_PER_PAGE}


def baseline_nrt(fake, now: datetime, warm: bool) -> dict:
    since = ts(now - timedelta(days=1))
    searches = original_searches(
        fake, per_repo(f"repo:{{repo}} is:issue updated:>={since}") + per_repo(f"repo:{{repo}} is:pr updated:>={since}")
    )
    updated = scenario.recent(fake, now, timedelta(days=1))
    timeline = len(updated) if warm else sum(pages(len(fake.timelines.get(p["id"], []))) for p in updated)
    return {"search": searches, "core": searches * RATE_LIMIT_CALLS_PER_PAGE + timeline}


def baseline_daily(fake) -> dict:
    searches = original_searches(fake, per_repo("repo:{repo} is:pr is:closed is:unmerged created:>=2019-01-01"))
    return {"search": searches, "core": searches * RATE_LIMIT_CALLS_PER_PAGE}


def quarters(since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
    spans, start = [], datetime(since.year, 1 + 3 * ((since.month - 1) // 3), 1, tzinfo=UTC)
    while start <= until:
        end = datetime(start.year + (start.month + 2) // 12, (start.month + 2) % 12 + 1, 1, tzinfo=UTC)
        spans.append((start, end - timedelta(seconds=1)))
        start = end
    return spans


def baseline_backfill(fake, since: datetime, until: datetime) -> dict:
    queries = [
        f"repo:{ORG}/{repo} {kind} created:{ts(lo)}..{ts(hi)}"
        for repo in DEFAULT_REPOS
        for kind in ("is:issue", "is:pr")
        for lo, hi in quarters(since, until)
    ]
    searches = original_searches(fake, queries)
    return {"search": searches, "core": searches * RATE_LIMIT_CALLS_PER_PAGE}


def minimum_backfill_pages(fake, since: datetime, until: datetime) -> int:
    """Items / 100 per (repo, kind), plus the one request that finds a (repo, kind) over the 1,000-result cap."""
    total = 0
    for repo in DEFAULT_REPOS:
        for kind in ("is:issue", "is:pr"):
            count = len(fake.matches(f"repo:{ORG}/{repo} {kind} created:{ts(since)}..{ts(until)}"))
            total += pages(count) + (1 if count > 1000 else 0)
    return total


class Meter:
    def __init__(self, fake):
        self.fake = fake
        self.rows: list[dict] = []

    def run(self, label: str, action, baseline: dict | None) -> dict:
        before, log_start = dict(self.fake.requests), len(self.fake.log)
        started = time.perf_counter()
        action()
        seconds = time.perf_counter() - started
        used = {
            kind: self.fake.requests.get(kind, 0) - before.get(kind, 0) for kind in ("search", "core", "not_modified")
        }
        timeline = sum(1 for line in self.fake.log[log_start:] if "/timeline" in line)
        row = {
            "job": label,
            **used,
            "total": used["search"] + used["core"],
            "timeline_pages": timeline,
            "seconds": round(seconds, 2),
            "github_minutes_at_30_searches": round(used["search"] / SEARCHES_PER_MINUTE, 2),
        }
        if baseline:
            row["baseline_total"] = baseline["search"] + baseline["core"]
            row["baseline_search"] = baseline["search"]
            row["ratio"] = round(row["total"] / row["baseline_total"], 3) if row["baseline_total"] else None
        self.rows.append(row)
        return row


def print_table(rows: list[dict]) -> None:
    header = f"{'job':<28}{'search':>8}{'core':>8}{'304':>8}{'total':>8}{'baseline':>10}{'ratio':>8}{'wall s':>9}"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['job']:<28}{row['search']:>8}{row['core']:>8}{row['not_modified']:>8}{row['total']:>8}"
            f"{row.get('baseline_total', ''):>10}{row.get('ratio', '') if row.get('ratio') is not None else '':>8}"
            f"{row['seconds']:>9}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    fake, server = serve(lambda url: scenario.build(url, now, items=args.items))
    workdir = tempfile.mkdtemp(prefix="bench-requests-")
    scenario.aim_the_app_at(fake, DB_URL=f"sqlite:///{workdir}/bench.db", LOCAL_TIME_BUDGET_SECONDS="100000")
    config.reset_caches()
    import logging

    logging.basicConfig(level=logging.WARNING)
    import backfill

    since = now - timedelta(days=365 * scenario.YEARS + 1)
    meter = Meter(fake)
    print(
        f"synthetic org: {len(fake.items)} issues and PRs in {len(DEFAULT_REPOS)} repos, "
        f"{len(fake.members)} members, {len(fake.timelines)} timelines"
    )
    backfill_row = meter.run(
        "backfill (3 years)",
        lambda: backfill.main(["--since", since.date().isoformat(), "--until", now.date().isoformat()]),
        baseline_backfill(fake, since, now),
    )
    minimum = minimum_backfill_pages(fake, since, now)
    meter.run("every_30_min (first run)", lambda: run_job("every_30_min"), baseline_every_30_min(fake, now))
    # Stamped with the real clock: a run searches up to its own start, so a change stamped later is never seen by
    # the per-item runs, whose database then claims timelines it does not hold.
    later = datetime.now(UTC).replace(microsecond=0)
    scenario.half_an_hour_of_activity(fake, later)
    meter.run("every_30_min (30 min later)", lambda: run_job("every_30_min"), baseline_every_30_min(fake, later))
    mark_every_timeline_read(os.environ["DB_URL"])
    use_events_source("timelines")
    meter.run("nrt_events per item, cold", lambda: run_job("nrt_events"), baseline_nrt(fake, later, warm=False))
    warm = meter.run("nrt_events per item, warm", lambda: run_job("nrt_events"), baseline_nrt(fake, later, warm=True))
    use_events_source("listings")
    meter.run("nrt_events per repo (default)", lambda: run_job("nrt_events"), baseline_nrt(fake, later, warm=True))
    meter.run("daily", lambda: run_job("daily"), baseline_daily(fake))
    server.shutdown()
    print_table(meter.rows)
    steady = meter.rows[2]
    share_304 = warm["not_modified"] / warm["timeline_pages"] if warm["timeline_pages"] else 0.0
    backfill_overhead = backfill_row["search"] / minimum - 1
    targets = {
        "every_30_min_vs_baseline": {"value": steady["ratio"], "target": "<= 0.1", "met": steady["ratio"] <= 0.1},
        "warm_nrt_304_share": {"value": round(share_304, 3), "target": ">= 0.9", "met": share_304 >= 0.9},
        "backfill_over_minimum_pages": {
            "value": round(backfill_overhead, 3),
            "target": "<= 0.05",
            "minimum_pages": minimum,
            "met": backfill_overhead <= 0.05,
        },
    }
    print()
    for name, figure in targets.items():
        print(f"{name}: {figure['value']} (target {figure['target']}): {'met' if figure['met'] else 'MISSED'}")
    scenario.save_result(
        "requests", {"measured_at": now.isoformat(), "items": len(fake.items), "jobs": meter.rows, "targets": targets}
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
