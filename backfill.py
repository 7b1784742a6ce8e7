"""Load an org's history into the database: `python backfill.py --since 2024-01-01 --until 2024-12-31`.

Resumable (completed windows are checkpointed in the database), idempotent, and paced by GitHub's own
rate-limit headers. `--dry-run` shows the windows and an estimate without writing anything.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
from datetime import UTC, datetime
from datetime import time as day_time

from sqlalchemy.exc import SQLAlchemyError

from chalicelib import jobs
from chalicelib.cli import configure_cli_logging, day
from chalicelib.config import UNAUTHENTICATED_WARNING, ConfigError, get_db_url, get_settings
from chalicelib.context import Deadline
from chalicelib.db import create_db_session
from chalicelib.github import GitHubAPI, GitHubAPIError
from chalicelib.github.app_auth import github_credentials
from chalicelib.history import KINDS, BackfillPlan, WindowDone, estimate, load_coverage
from chalicelib.runner import JobCouldNotStart, JobFailed, RunInputs, build_api, run_job

EXAMPLES = """examples:
  python backfill.py --since 30d --repos amplify-js --unauthenticated   # a month of one repo, no token
  python backfill.py --since 2024-01-01 --until 2024-12-31 --events     # a year of every repo, with timelines
  python backfill.py --since 2019-01-01 --dry-run                       # what it would ask, and how long

It loads the org's members too (the report needs them to tell maintainers from outsiders).
Exit status: 0 done, 1 failed (run the same command again to resume), 2 bad input, 130 interrupted."""

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1


class BadInput(Exception):
    """Something the user can fix: the message says what; the exit status is 2."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    settings = get_settings()
    parser = argparse.ArgumentParser(
        prog="backfill.py",
        description=__doc__.splitlines()[0],
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--since",
        type=day,
        default=settings.reconcile_since.date(),
        help=f"first creation day to load, YYYY-MM-DD or 30d (default {settings.reconcile_since.date()})",
    )
    parser.add_argument(
        "--until", type=day, default=datetime.now(UTC).date(), help="last creation day to load (default today)"
    )
    parser.add_argument("--repos", help="comma-separated repo names (default GITHUB_REPOS)")
    parser.add_argument("--only", choices=sorted(KINDS), help="only issues or only pull requests (prs)")
    parser.add_argument("--events", action="store_true", help="also load the timeline events of each item")
    parser.add_argument("--dry-run", action="store_true", help="print the windows and an estimate; write nothing")
    parser.add_argument("--restart", action="store_true", help="ignore checkpoints and load the whole period again")
    parser.add_argument(
        "--fan-out",
        action="store_true",
        help="with --events: queue each repo's event listings for the stage's Lambda functions (docs/deploy.md)",
    )
    parser.add_argument(
        "--unauthenticated", action="store_true", help="run without GH_TOKEN at GitHub's unauthenticated limits"
    )
    args = parser.parse_args(argv)
    if args.since > args.until:
        parser.error(f"--since {args.since} is after --until {args.until}")
    if args.fan_out and not args.events:
        parser.error("--fan-out fans out the event listings: it needs --events")
    return args


class Progress:
    """A progress bar on a terminal (items of the known total, percentage, ETA, rate-limit countdown), within 80
    columns; a log line per window elsewhere."""

    WIDTH = 80

    def __init__(self, interactive: bool):
        self.windows = 0
        self.items = 0
        self.bar = None
        if interactive:
            from tqdm import tqdm

            self.bar = tqdm(
                total=0,
                unit="it",
                ncols=self.WIDTH,
                desc="backfill",
                bar_format="{desc} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} items {remaining} left{postfix}",
            )

    def found(self, total: int, already_stored: int) -> None:
        """GitHub's count for one repo and kind, and how many of them earlier runs stored."""
        if self.bar is not None:
            self.bar.total += total
            self.bar.update(min(already_stored, total))

    def window_done(self, done: WindowDone) -> None:
        self.windows += 1
        self.items += len(done.rows)
        if self.bar is None:
            logging.getLogger("backfill").info(done.describe())
            return
        self.bar.update(len(done.rows))
        self.bar.set_postfix_str(f"{self.windows} windows", refresh=True)

    def sleep(self, seconds: float) -> None:
        """Wait for a rate limit, counting down on the bar."""
        if self.bar is None:
            time.sleep(seconds)
            return
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self.bar.set_postfix_str(f"rate limit {left:.0f}s")
            time.sleep(min(1.0, left))

    def redirect_logs(self):
        """Log lines printed above the bar instead of through it."""
        if self.bar is None:
            return contextlib.nullcontext()
        from tqdm.contrib.logging import logging_redirect_tqdm

        return logging_redirect_tqdm()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def requested_repos(api: GitHubAPI, settings, requested: str | None) -> tuple[str, ...]:
    """The repos `--repos` names (or the configured ones), each checked on GitHub (an unknown one is bad input) and
    spelled as GitHub spells it."""
    if requested:
        repos = tuple(name.strip() for name in requested.split(",") if name.strip())
    elif settings.all_repos:
        return tuple(api.list_repos(settings.org))
    else:
        repos = settings.repos
    spelled = []
    for repo in repos:
        try:
            spelled.append(api.repo(settings.org, repo).get("name") or repo)
        except GitHubAPIError as error:
            if error.status == 404:
                raise BadInput(
                    f"unknown repo {settings.org}/{repo}: GitHub answered 404 (check the name, and "
                    f"that the token can see it)"
                ) from None
            raise
    return tuple(dict.fromkeys(spelled))


def dry_run(api: GitHubAPI, settings, plan: BackfillPlan, db_url: str) -> None:
    """Print the plan; checkpoints are read if the database already has them, nothing is written."""

    def covered(repo, kind, window):
        try:
            with create_db_session(db_url) as session:
                return load_coverage(session, repo, kind).covers(window)
        except SQLAlchemyError:
            return False

    per_item = jobs.per_item_timelines(settings)
    result = estimate(api, settings.org, plan, covered, per_item=per_item)
    for line in result.lines:
        print(line)
    if not plan.events:
        events = ""
    elif per_item:
        events = f" and ~{result.core_requests} timeline requests (one per item)"
    else:
        events = (
            f" and ~{result.core_requests} listing requests and ~{result.graphql_queries} GraphQL queries for the "
            "events (plus one timeline per item the listings cannot prove)"
        )
    print(
        f"estimate: {result.items} items, ~{result.search_requests} search requests{events}"
        + f", at least {result.minutes:.1f} min at GitHub's 30 searches/min. Nothing was written."
    )


def main(argv: list[str] | None = None) -> int:
    configure_cli_logging(sys.stderr)
    # The run's summary is printed once, below; the runner's own line would repeat it.
    logging.getLogger("chalicelib.runner").setLevel(logging.WARNING)
    args = parse_args(sys.argv[1:] if argv is None else argv)
    progress = None
    try:
        settings = get_settings()
        token = github_credentials(settings, quiet=args.unauthenticated)
        if token is None and not args.unauthenticated:
            raise BadInput(
                UNAUTHENTICATED_WARNING.replace("calling GitHub unauthenticated", "refusing to backfill")
                + " Or pass --unauthenticated to go ahead at those limits."
            )
        progress = Progress(interactive=sys.stderr.isatty() and not args.dry_run)
        api = build_api(settings, token, Deadline.never(), sleep=progress.sleep)
        plan = BackfillPlan(
            since=datetime.combine(args.since, day_time.min, UTC),
            until=datetime.combine(args.until, day_time(23, 59, 59), UTC),
            repos=requested_repos(api, settings, args.repos),
            kinds=(args.only,) if args.only else tuple(KINDS),
            events=args.events,
            restart=args.restart,
            fan_out=args.fan_out,
        )
        db_url = get_db_url()
        if args.dry_run:
            dry_run(api, settings, plan, db_url)
            return 0
        try:
            with progress.redirect_logs():
                ctx = run_job(
                    "backfill",
                    job=lambda ctx: jobs.backfill(ctx, plan, progress.window_done, progress.found),
                    deadline=Deadline.never(),
                    inputs=RunInputs(settings=settings, api=api, db_url=db_url, repos=plan.repos),
                )
        finally:
            progress.close()
        print(f"backfill done: {ctx.report.summary()}; {api.stats.summary()}")
        return 0
    except (BadInput, ConfigError, JobCouldNotStart) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (JobFailed, GitHubAPIError) as error:
        print(f"error: {error}" + resume_hint(progress), file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("\ninterrupted" + resume_hint(progress), file=sys.stderr)
        return 130


def resume_hint(progress: Progress | None) -> str:
    if progress is None or not progress.windows:
        return ""
    return (
        f"\n{progress.windows} completed windows ({progress.items} items) are kept: run the same command "
        "again to resume."
    )


if __name__ == "__main__":
    sys.exit(main())
