"""Read the same items of one real repo both ways, per-item timelines and the default path (repo listings + GraphQL
reviews), and print where the stored events differ, row for row, and what each way asked GitHub.

    GH_TOKEN=... python -m bench.live_check --repo OWNER/NAME [--items 50]

Run it before switching a large org to the default path, or after GitHub changes its API: the tests hold the
app to GitHub's published descriptions, this holds it to what GitHub actually serves. It reads the repo's
`--items` newest issues and PRs (and any created the same day, as a backfill reads whole days) into two
throwaway SQLite databases and writes nothing else. Exits 0 when both ways stored the same rows.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from datetime import UTC, datetime
from datetime import time as day_time

from sqlalchemy import select

from chalicelib import jobs
from chalicelib.config import ConfigError, get_github_token, get_settings
from chalicelib.context import Deadline
from chalicelib.db import create_db_session
from chalicelib.entities import BOOKKEEPING_COLUMNS
from chalicelib.github import GitHubAPI, GitHubAPIError
from chalicelib.history import KINDS, BackfillPlan
from chalicelib.models import Event
from chalicelib.runner import JobFailed, RunInputs, run_job
from chalicelib.times import parse_timestamp

WAYS = {"per-item timelines": "timelines", "listings + GraphQL reviews": "listings"}
SHOWN_DIFFERENCES = 40


def read_both_ways(settings, token: str, repo: str, items: int, workdir: str) -> dict[str, tuple[dict, dict]]:
    """Each way's stored events ((id, item id) -> row) and the requests it sent, for the same period."""
    probe = GitHubAPI(settings.api_url, token)
    newest = probe.newest_items(f"repo:{settings.org}/{repo}", items)
    if not newest:
        raise SystemExit(f"{settings.org}/{repo} has no issues or pull requests to compare")
    since = parse_timestamp(min(item["created_at"] for item in newest)).replace(tzinfo=UTC)
    now = datetime.now(UTC)
    plan = BackfillPlan(
        since=datetime.combine(since.date(), day_time.min, UTC),
        until=datetime.combine(now.date(), day_time(23, 59, 59), UTC),
        repos=(repo,),
        kinds=tuple(KINDS),
        events=True,
    )
    found = {}
    for name, source in WAYS.items():
        api = GitHubAPI(settings.api_url, token)
        db_url = f"sqlite:///{workdir}/{source}.db"
        settings_here = dataclasses.replace(settings, repos=(repo,), events_source=source)
        run_job(
            "live_check",
            job=lambda ctx, plan=plan: jobs.backfill(ctx, plan, lambda done: None),
            deadline=Deadline.never(),
            inputs=RunInputs(settings=settings_here, api=api, db_url=db_url, repos=(repo,)),
        )
        found[name] = (stored_events(db_url), api.stats.as_dict())
    return found


def stored_events(db_url: str) -> dict[tuple[int, int], dict]:
    columns = [c for c in Event.__table__.columns if c.name not in BOOKKEEPING_COLUMNS - {"extra"}]
    session = create_db_session(db_url)
    try:
        return {(row.id, row.issue_id): dict(row._mapping) for row in session.execute(select(*columns)).all()}
    finally:
        session.close()


def differences(per_item: dict, listed: dict) -> list[str]:
    """One line per event stored by one way only, or stored differently (naming the columns)."""
    lines = []
    for key in sorted(per_item.keys() | listed.keys()):
        mine, theirs = per_item.get(key), listed.get(key)
        row = mine or theirs
        link = row.get("html_url") or row.get("url")
        where = f"{row['event']} {row['id']} on item {row['issue_id']}" + (f" ({link})" if link else "")
        if theirs is None:
            lines.append(f"only per item: {where}")
        elif mine is None:
            lines.append(f"only by listings: {where}")
        else:
            changed = sorted(name for name in mine if mine[name] != theirs[name])
            if changed:
                lines.append(f"differs in {', '.join(changed)}: {where}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", required=True, help="OWNER/NAME of a repo the token can read")
    parser.add_argument("--items", type=int, default=50, help="newest issues and PRs to read (at most 100)")
    args = parser.parse_args(argv)
    owner, _, repo = args.repo.partition("/")
    if not owner or not repo:
        parser.error("--repo takes OWNER/NAME")
    try:
        settings = dataclasses.replace(get_settings(), org=owner)
        token = get_github_token()
        if not token:
            raise ConfigError("GH_TOKEN is not set: the live check reads the real API and needs a token")
        with tempfile.TemporaryDirectory(prefix="live-check-") as workdir:
            found = read_both_ways(settings, token, repo, max(1, min(args.items, 100)), workdir)
    except (ConfigError, GitHubAPIError, JobFailed) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    (per_item, _), (listed, _) = found.values()
    lines = differences(per_item, listed)
    print(f"{owner}/{repo}: {len(per_item)} events per item, {len(listed)} by listings")
    for name, (_, requests) in found.items():
        print(f"  {name}: {requests['search']} search, {requests['core']} core, {requests['graphql']} GraphQL requests")
    for line in lines[:SHOWN_DIFFERENCES]:
        print("  " + line)
    if len(lines) > SHOWN_DIFFERENCES:
        print(f"  ... and {len(lines) - SHOWN_DIFFERENCES} more")
    print("same rows both ways" if not lines else f"{len(lines)} rows differ")
    return 0 if not lines else 1


if __name__ == "__main__":
    raise SystemExit(main())
