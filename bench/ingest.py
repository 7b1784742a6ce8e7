"""Database ingest rate: the batched upsert against the original's one ORM add + commit per row, same data, same run.

    bash tests/with-postgres python3 -m bench.ingest [--rows 100000] [--baseline-rows 5000]

Upserts realistic issue payloads into PostgreSQL (TEST_PG_URL, or --db-url) in streamed batches and prints rows/s
for a first insert, a re-upsert with no change and a re-upsert with 10% changed, the baseline's rows/s measured
on the first --baseline-rows of the same payloads, and the peak memory. Both sides are timed from payload dicts
(as the GitHub client hands them over) to committed rows; generating the synthetic payloads is not timed.
Writes bench/results/ingest.json.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
from itertools import islice

from sqlalchemy import text

from bench.scenario import save_result
from chalicelib.db import create_db_session, get_engine
from chalicelib.entities import issue_row
from chalicelib.models import Issue, create_all
from chalicelib.store import upsert
from tests.fake import item, user

BATCH = 1000
REPOS = ["amplify-js", "amplify-cli", "amplify-ui", "docs"]


def payloads(count: int, *, changed_every: int = 0, seed: int = 3):
    """Issue payloads as the search API returns them, generated lazily; every `changed_every`-th one edited."""
    rng = random.Random(seed)
    people = [user(f"user{n}", 20_000 + n) for n in range(500)]
    for n in range(1, count + 1):
        payload = item(
            "https://api.github.com",
            "aws-amplify",
            REPOS[n % len(REPOS)],
            n,
            item_id=n,
            author=rng.choice(people),
            created=f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}T10:00:00Z",
            updated=f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}T12:00:00Z",
            title=f"Issue {n}: something about {rng.choice(['auth', 'storage', 'api', 'ui'])}",
            body="Steps to reproduce:\n" + "lorem ipsum " * rng.randint(5, 60),
            labels=rng.sample(["bug", "feature-request", "pending-response", "auth", "p2"], 2),
            comments=rng.randint(0, 20),
        )
        if changed_every and n % changed_every == 0:
            payload["title"] += " (edited)"
            payload["updated_at"] = payload["updated_at"].replace("T12:", "T13:")
        yield payload


def batches(iterable, size: int):
    iterator = iter(iterable)
    while chunk := list(islice(iterator, size)):
        yield chunk


def upsert_all(db_url: str, stream) -> tuple[float, dict]:
    """Seconds spent mapping, upserting and committing (building the synthetic payloads is not counted)."""
    session = create_db_session(db_url)
    totals = {"inserted": 0, "updated": 0, "unchanged": 0}
    seconds = 0.0
    for chunk in batches(stream, BATCH):
        started = time.perf_counter()
        counts = upsert(session, Issue, [issue_row(p) for p in chunk])
        session.commit()
        seconds += time.perf_counter() - started
        for key in totals:
            totals[key] += getattr(counts, key)
    session.close()
    return seconds, totals


def baseline(db_url: str, stream) -> tuple[float, int]:
    """The original's pattern: an ORM object per row, added and committed one at a time."""
    session = create_db_session(db_url)
    rows, seconds = 0, 0.0
    for payload in stream:
        started = time.perf_counter()
        session.add(Issue(**issue_row(payload)))
        session.commit()
        seconds += time.perf_counter() - started
        rows += 1
    session.close()
    return seconds, rows


def empty(db_url: str) -> None:
    with get_engine(db_url).begin() as connection:
        connection.execute(text("TRUNCATE issues"))


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--baseline-rows", type=int, default=5_000)
    parser.add_argument("--db-url", default=os.environ.get("TEST_PG_URL"))
    args = parser.parse_args()
    if not args.db_url or not args.db_url.startswith("postgresql"):
        print(
            "error: needs PostgreSQL: run `bash tests/with-postgres python bench/ingest.py`, or pass --db-url",
            file=sys.stderr,
        )
        return 2
    create_all(args.db_url)
    empty(args.db_url)
    base_seconds, base_rows = baseline(args.db_url, payloads(args.baseline_rows))
    base_rate = base_rows / base_seconds
    empty(args.db_url)
    memory_before = peak_memory_mb()
    phases = {}
    for name, stream in [
        ("first insert", payloads(args.rows)),
        ("re-upsert, no change", payloads(args.rows)),
        ("re-upsert, 10% changed", payloads(args.rows, changed_every=10)),
    ]:
        seconds, totals = upsert_all(args.db_url, stream)
        phases[name] = {"rows_per_second": round(args.rows / seconds), "seconds": round(seconds, 2), **totals}
    peak = peak_memory_mb()
    print(f"{'phase':<28}{'rows/s':>10}{'seconds':>10}{'inserted':>10}{'updated':>10}{'unchanged':>11}")
    print(f"{'baseline: add+commit/row':<28}{base_rate:>10.0f}{base_seconds:>10.2f}{base_rows:>10}{0:>10}{0:>11}")
    for name, figures in phases.items():
        print(
            f"{name:<28}{figures['rows_per_second']:>10}{figures['seconds']:>10}{figures['inserted']:>10}"
            f"{figures['updated']:>10}{figures['unchanged']:>11}"
        )
    speedup = phases["first insert"]["rows_per_second"] / base_rate
    print(f"\nfirst insert vs baseline: {speedup:.1f}x (target >= 20x): {'met' if speedup >= 20 else 'MISSED'}")
    print(
        f"peak memory: {peak:.0f} MB (before the batched phases: {memory_before:.0f} MB; batches of {BATCH} "
        f"rows streamed from a generator, never the whole set)"
    )
    save_result(
        "ingest",
        {
            "rows": args.rows,
            "baseline": {"rows": base_rows, "rows_per_second": round(base_rate)},
            "phases": phases,
            "first_insert_speedup": round(speedup, 1),
            "peak_memory_mb": round(peak),
            "memory_before_batches_mb": round(memory_before),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
