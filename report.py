"""How outside contributors are treated, from the synced data:
`python report.py --since 2026-01-01 --format html --sla 72h`."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from chalicelib.cli import day
from chalicelib.config import ConfigError, get_db_url
from chalicelib.models import get_engine, upgrade_database
from chalicelib.report import as_csv, as_html, as_json, as_table, build_report
from chalicelib.runner import describe

UNITS = {"m": 1 / 60, "h": 1, "d": 24, "w": 168}

EXAMPLES = """examples:
  python report.py                                   # the last 90 days, as a table
  python report.py --since 2026-09-01 --format html  # writes contributor-metrics-report.html
  python report.py --repos amplify-js --format csv --output amplify-js.csv

It reads the database named by DB_URL (default the local SQLite file) and writes nothing to it.
Exit status: 0 done, 1 the database could not be used, 2 bad input."""


def duration_hours(value: str) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([mhdw]?)\s*", value)
    if not match:
        raise argparse.ArgumentTypeError(f"{value!r} is not a duration like 72h, 3d or 90m")
    return float(match.group(1)) * UNITS[match.group(2) or "h"]


def main(argv: list[str] | None = None) -> int:
    today = datetime.now(UTC).date()
    parser = argparse.ArgumentParser(
        prog="report.py",
        description=__doc__.splitlines()[0],
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--since", type=day, default=today - timedelta(days=90), help="default: 90 days ago")
    parser.add_argument("--until", type=day, default=today, help="default: today")
    parser.add_argument("--repos", help="comma-separated repo names (default: all)")
    parser.add_argument("--format", choices=("table", "csv", "json", "html"), default="table")
    parser.add_argument("--sla", type=duration_hours, default=72.0, help="first-response target (default 72h)")
    parser.add_argument("--output", help="file to write (html default: contributor-metrics-report.html)")
    args = parser.parse_args(argv)
    if args.since > args.until:
        parser.error(f"--since {args.since} is after --until {args.until}")
    repos = [name.strip() for name in args.repos.split(",") if name.strip()] if args.repos else None
    try:
        db_url = get_db_url()
        upgrade_database(db_url)
        report = build_report(get_engine(db_url), args.since, args.until, repos, args.sla)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except SQLAlchemyError as error:
        print(f"error: {describe(error, db_url)}", file=sys.stderr)
        return 2
    if report.empty:
        print(
            f"No issues or pull requests by outside contributors were created from {args.since} to "
            f"{args.until}{' in ' + ', '.join(repos) if repos else ''}: nothing to report. "
            "(An empty database? Load some history with backfill.py first.)"
        )
        return 0
    rendered = {"table": as_table, "csv": as_csv, "json": as_json, "html": as_html}[args.format](report)
    output = args.output or ("contributor-metrics-report.html" if args.format == "html" else None)
    if output:
        Path(output).write_text(rendered)
        print(f"wrote {output}")
    else:
        print(rendered)
    return 0


if __name__ == "__main__":
    sys.exit(main())
