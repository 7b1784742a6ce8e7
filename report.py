"""How outside contributors are treated, from the synced data:
`python report.py --since 2026-01-01 --format html --sla 72h`."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from chalicelib.cli import day
from chalicelib.config import ConfigError, get_db_url
from chalicelib.db import get_engine, upgrade_database
from chalicelib.error_text import describe
from chalicelib.report import Report, as_csv, as_html, as_json, as_table, build_report

UNITS = {"m": 1 / 60, "h": 1, "d": 24, "w": 168}

EXAMPLES = """examples:
  python report.py --format table                    # the last 90 days, for a person (default json)
  python report.py --since 2026-09-01 --format html  # writes contributor-metrics-report.html
  python report.py --repos amplify-js --format csv --output amplify-js.csv
  python report.py --serve                           # live at http://127.0.0.1:8000/, refresh for new data

It reads the database named by DB_URL (default the local SQLite file) and writes nothing to it.
Exit status: 0 done, 1 the database could not be used, 2 bad input or nothing to report."""


def duration_hours(value: str) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([mhdw]?)\s*", value)
    if not match:
        raise argparse.ArgumentTypeError(f"{value!r} is not a duration like 72h, 3d or 90m")
    return float(match.group(1)) * UNITS[match.group(2) or "h"]


EXIT_ENVIRONMENT = 1
EXIT_BAD_INPUT = 2
RENDERERS = {"table": as_table, "csv": as_csv, "json": as_json, "html": as_html}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    today = datetime.now(UTC).date()
    parser = argparse.ArgumentParser(
        prog="report.py",
        description=__doc__.splitlines()[0],
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--since", type=day, default=today - timedelta(days=90), help="YYYY-MM-DD or 30d (default 90d)")
    parser.add_argument("--until", type=day, default=today, help="YYYY-MM-DD (default today)")
    parser.add_argument("--repos", help="comma-separated repo names (default: all)")
    parser.add_argument("--format", choices=tuple(RENDERERS), default="json", help="default json, to stdout")
    parser.add_argument("--sla", type=duration_hours, default=72.0, help="first-response target (default 72h)")
    parser.add_argument("--output", help="file to write (html default: contributor-metrics-report.html)")
    parser.add_argument("--serve", action="store_true", help="serve the html page live on 127.0.0.1 (refresh = now)")
    parser.add_argument("--port", type=int, default=8000, help="port for --serve (default 8000)")
    args = parser.parse_args(argv)
    if args.since > args.until:
        parser.error(f"--since {args.since} is after --until {args.until}")
    args.repos = [name.strip() for name in args.repos.split(",") if name.strip()] if args.repos else None
    return args


class ReportError(Exception):
    """A report that cannot be made: the message says why, `status` is the exit status."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def make_report(args: argparse.Namespace) -> Report:
    db_url = ""
    try:
        db_url = get_db_url()
        upgrade_database(db_url)
        return build_report(get_engine(db_url), args.since, args.until, args.repos, args.sla)
    except ConfigError as error:
        raise ReportError(str(error), EXIT_BAD_INPUT) from None
    except SQLAlchemyError as error:
        raise ReportError(describe(error, db_url), EXIT_ENVIRONMENT) from None


def serve(args: argparse.Namespace, port: int) -> ThreadingHTTPServer:
    """An HTTP server on 127.0.0.1 that builds the page from the database at every request."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.split("?")[0] not in ("/", "/index.html"):
                self.send_error(404)
                return
            try:
                body, status = as_html(make_report(args)).encode(), 200
            except ReportError as error:
                body, status = f"error: {error}".encode(), 503
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8" if status == 200 else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_):
            pass

    return ThreadingHTTPServer(("127.0.0.1", port), Page)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve:
        server = serve(args, args.port)
        print(f"serving the report at http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            server.server_close()
        return 0
    try:
        report = make_report(args)
    except ReportError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.status
    rendered = RENDERERS[args.format](report)
    output = args.output or ("contributor-metrics-report.html" if args.format == "html" else None)
    if output:
        try:
            Path(output).write_text(rendered)
        except OSError as error:
            print(f"error: cannot write {output}: {error.strerror}", file=sys.stderr)
            return EXIT_BAD_INPUT
        print(
            f"wrote {output}" + (f" (it says why it is empty: {report.empty_because})" if report.empty_because else "")
        )
    elif report.empty_because and args.format != "json":
        print(f"Nothing to report: {report.empty_because}.", file=sys.stderr)
    else:
        print(rendered)
    return EXIT_BAD_INPUT if report.empty_because else 0


if __name__ == "__main__":
    sys.exit(main())
