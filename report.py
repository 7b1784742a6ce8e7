"""How outside contributors are treated, from the synced data:
`python report.py --since 2026-01-01 --format html --sla 72h`."""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import re
import sys
import threading
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from chalicelib.cli import day
from chalicelib.config import ConfigError, get_db_url, get_settings
from chalicelib.db import get_engine, upgrade_database
from chalicelib.error_text import describe, masked
from chalicelib.report import Report, ReportOptions, as_csv, as_html, as_json, as_table, build_report
from chalicelib.report.model import KINDS, SORTS
from chalicelib.report.render import LISTS, list_csv, list_table, list_title

UNITS = {"m": 1 / 60, "h": 1, "d": 24, "w": 168}

EXAMPLES = """examples:
  python report.py --format table                    # the last 90 days, for a person (default json)
  python report.py --since 2026-09-01 --format html  # writes contributor-metrics-report.html
  python report.py --repos amplify-js --format csv --output amplify-js.csv
  python report.py --kind pr --exclude-users dependabot,renovate --format table
  python report.py --list no-answer --sort newest-breach --format csv
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
    parser.add_argument("--sla", type=duration_hours, default=72.0, help="first-answer target (default 72h)")
    parser.add_argument(
        "--sla-basis",
        choices=("first_reply", "first_response"),
        help="the answer the SLA counts: a maintainer's words, or any action (default SLA_BASIS, first_reply)",
    )
    parser.add_argument("--kind", choices=KINDS, help="only issues, or only pull requests")
    parser.add_argument("--label", help="only items carrying this label")
    parser.add_argument(
        "--exclude-users", type=logins, help="comma-separated authors to leave out (default EXCLUDE_USERS)"
    )
    parser.add_argument("--sort", choices=SORTS, default="longest", help="order of the waiting lists")
    parser.add_argument("--output", help="file to write (html default: contributor-metrics-report.html)")
    parser.add_argument(
        "--list", choices=tuple(LISTS), help="one whole list instead of the report (csv, json or table)"
    )
    parser.add_argument("--serve", action="store_true", help="serve the html page live on 127.0.0.1 (refresh = now)")
    parser.add_argument("--port", type=int, default=8000, help="port for --serve (default 8000)")
    args = parser.parse_args(argv)
    if args.since > args.until:
        parser.error(f"--since {args.since} is after --until {args.until}")
    if args.list and args.format == "html":
        parser.error("--list takes --format csv, json or table (the html page shows every list)")
    args.repos = logins(args.repos) or None if args.repos else None
    return args


def logins(value: str) -> list[str]:
    """A comma-separated list of names, blanks dropped."""
    return [name.strip() for name in value.split(",") if name.strip()]


def report_options(args: argparse.Namespace) -> ReportOptions:
    """The command line's scope over the settings' defaults (SLA_BASIS, EXCLUDE_USERS, LABEL_TIMERS)."""
    settings = get_settings()
    return ReportOptions(
        sla_basis=args.sla_basis or settings.sla_basis,
        kind=args.kind,
        label=args.label,
        exclude_users=tuple(settings.exclude_users if args.exclude_users is None else args.exclude_users),
        label_timers=settings.label_timers,
        sort=args.sort,
    )


class ReportError(Exception):
    """A report that cannot be made: the message says why, `status` is the exit status."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def prepare_database() -> str:
    """The database the report reads, brought up to date once (a report reads only, so a SQLite file that does
    not exist is a misspelt path, not a database to create)."""
    db_url = ""
    try:
        db_url = get_db_url()
        database = make_url(db_url).database
        if db_url.startswith("sqlite") and database not in (None, "", ":memory:") and not Path(database).exists():
            raise ReportError(
                f"no database at {database} (DB_URL={masked(db_url)}): check the path; the jobs and backfill.py "
                "create it",
                EXIT_BAD_INPUT,
            )
        upgrade_database(db_url)
    except ConfigError as error:
        raise ReportError(str(error), EXIT_BAD_INPUT) from None
    except SQLAlchemyError as error:
        raise ReportError(describe(error, db_url), EXIT_ENVIRONMENT) from None
    return db_url


def make_report(args: argparse.Namespace, db_url: str) -> Report:
    try:
        options = report_options(args)
        return build_report(get_engine(db_url), args.since, args.until, args.repos, args.sla, options)
    except ConfigError as error:
        raise ReportError(str(error), EXIT_BAD_INPUT) from None
    except SQLAlchemyError as error:
        raise ReportError(describe(error, db_url), EXIT_ENVIRONMENT) from None


# The server answers a few people at a time: requests beyond this many at once get a 503 at once, and a client
# that sends nothing for this long is dropped, so slow clients cannot hold the server.
SERVER_THREADS = 8
CLIENT_TIMEOUT_SECONDS = 10


class BoundedServer(ThreadingHTTPServer):
    """A threading server with at most SERVER_THREADS requests in progress."""

    daemon_threads = True

    def __init__(self, address, handler):
        super().__init__(address, handler)
        self.slots = threading.BoundedSemaphore(SERVER_THREADS)

    def process_request(self, request, client_address):
        if not self.slots.acquire(blocking=False):
            with contextlib.suppress(OSError):
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


def serve(args: argparse.Namespace, port: int, db_url: str) -> BoundedServer:
    """An HTTP server on 127.0.0.1 that builds the page from the database at every request. It answers only
    requests addressed to the names it listens on (a page elsewhere cannot read it by rebinding a DNS name)."""

    class Page(BaseHTTPRequestHandler):
        timeout = CLIENT_TIMEOUT_SECONDS

        def do_GET(self):
            if self.headers.get("Host", "").lower() not in allowed_hosts(self.server.server_address[1]):
                self.answer(421, "text/plain", b"this server answers only for 127.0.0.1 and localhost")
                return
            path, _, query = self.path.partition("?")
            if path not in ("/", "/index.html"):
                self.send_error(404)
                return
            try:
                asked = options_from_query(args, query)
            except (argparse.ArgumentTypeError, ValueError) as error:
                self.answer(400, "text/plain", f"error: {error}".encode())
                return
            try:
                self.answer(200, "text/html; charset=utf-8", as_html(make_report(asked, db_url)).encode())
            except ReportError as error:
                self.answer(503, "text/plain", f"error: {error}".encode())

        def answer(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_):
            pass

    try:
        return BoundedServer(("127.0.0.1", port), Page)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise ReportError(
                f"port {port} is taken (another report.py --serve?): pick another with --port N, or --port 0 for "
                "any free one",
                EXIT_BAD_INPUT,
            ) from None
        raise ReportError(f"cannot listen on 127.0.0.1:{port}: {error.strerror}", EXIT_BAD_INPUT) from None


# What the page's query string may ask, as the command line writes it: each name to its parser.
QUERY_OPTIONS = {
    "repos": lambda value: logins(value) or None,
    "since": day,
    "until": day,
    "sla": duration_hours,
    "sla-basis": lambda value: _one_of(value, ("first_reply", "first_response"), "sla-basis"),
    "kind": lambda value: _one_of(value, KINDS, "kind"),
    "label": lambda value: value or None,
    "exclude-users": logins,
    "sort": lambda value: _one_of(value, SORTS, "sort"),
}


def _one_of(value: str, choices: tuple[str, ...], name: str) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def options_from_query(args: argparse.Namespace, query: str) -> argparse.Namespace:
    """The report's options for one page: the command line's, with what the query string asks instead
    (`?repos=a,b&kind=pr&label=bug&since=30d&until=2026-11-30&sla=48h`, as the command line writes them)."""
    asked = argparse.Namespace(**vars(args))
    for name, value in parse_qsl(query):
        if name not in QUERY_OPTIONS:
            raise ValueError(f"unknown option {name!r}: the page takes {', '.join(QUERY_OPTIONS)}")
        setattr(asked, name.replace("-", "_"), QUERY_OPTIONS[name](value))
    if asked.since > asked.until:
        raise ValueError(f"since {asked.since} is after until {asked.until}")
    return asked


def allowed_hosts(port: int) -> set[str]:
    return {f"127.0.0.1:{port}", f"localhost:{port}"} | ({"127.0.0.1", "localhost"} if port == 80 else set())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        db_url = prepare_database()
        if args.serve:
            return serve_until_stopped(args, db_url)
        report = make_report(args, db_url)
    except ReportError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.status
    rendered = render_list(report, args.list, args.format) if args.list else RENDERERS[args.format](report)
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


def render_list(report: Report, name: str, form: str) -> str:
    """One whole list, every item of it."""
    lines = getattr(report, LISTS[name][0])
    if form == "csv":
        return list_csv(lines)
    if form == "json":
        return json.dumps([asdict(line) for line in lines], indent=2, default=str)
    return list_table(list_title(report, name), lines)


def serve_until_stopped(args: argparse.Namespace, db_url: str) -> int:
    server = serve(args, args.port, db_url)
    print(f"serving the report at http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
