"""`python app.py JOB` as a user runs it: a real process against a fake GitHub served on 127.0.0.1."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fake import FakeGitHub, serve, user
from tests.helpers import ago

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def served():
    fake, server = serve(lambda url: FakeGitHub(api=url))
    yield fake
    server.shutdown()


def run_app(args, db_url, fake, tmp_path, **extra_env):
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "GH_TOKEN": "ghp_test",
        "GITHUB_API_URL": fake.api,
        "GITHUB_ORG": "acme",
        "GITHUB_REPOS": "widgets",
        "DB_URL": db_url,
        **extra_env,
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py"), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_30_min_prints_a_one_line_summary(served, db_url, tmp_path):
    served.new_item("widgets", 1, item_id=11, author=user("alice", 501), created=ago(days=1))
    served.members = [user("alice", 501)]
    result = run_app(["every_30_min"], db_url, served, tmp_path)
    assert result.returncode == 0, result.stderr
    summary = [line for line in result.stdout.splitlines() if "every_30_min ok" in line]
    assert len(summary) == 1
    assert "issues +1" in summary[0] and "members +1" in summary[0] and "requests: " in summary[0]


def test_failure_exits_non_zero_and_names_the_cause(served, db_url, tmp_path):
    served.fail_next("/orgs/acme/members", 403)
    result = run_app(["every_30_min"], db_url, served, tmp_path)
    assert result.returncode == 1
    assert "GitHub answered 403" in result.stderr and "/orgs/acme/members" in result.stderr
    assert "ghp_test" not in result.stderr + result.stdout


def test_unreachable_database_is_named(served, tmp_path):
    result = run_app(["daily"], "postgresql+psycopg2://u:pw@127.0.0.1:1/x", served, tmp_path)
    assert result.returncode == 1
    assert "database error at postgresql+psycopg2://u:***@127.0.0.1:1/x" in result.stderr


def test_unknown_job_shows_usage(served, tmp_path, db_url):
    result = run_app(["hourly"], db_url, served, tmp_path)
    assert result.returncode == 2 and "every_30_min|nrt_events|daily" in result.stderr


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_the_original_apps_database_url_works_in_every_command(served, pg_url, tmp_path, scheme):
    url = pg_url.replace("postgresql+psycopg2://", f"{scheme}://")
    served.members = [user("alice", 501)]
    served.new_item("widgets", 1, item_id=11, author=user("olivia", 701), created=ago(days=1))
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONPATH": str(ROOT), "DB_URL": url}

    def command(*args):
        result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr

    command(sys.executable, "-c", f"from chalicelib.models import create_all; create_all({url!r})")
    command(sys.executable, "-m", "alembic", "-c", str(ROOT / "alembic.ini"), "upgrade", "head")
    result = run_app(["every_30_min"], url, served, tmp_path)
    assert result.returncode == 0, result.stderr
    command(sys.executable, str(ROOT / "report.py"), "--format", "json")


@pytest.mark.parametrize(
    "api_url, why",
    [("https://no-such-host.invalid", "does not resolve (DNS)"), ("http://127.0.0.1:1", "refused the connection")],
)
def test_an_unreachable_github_is_named_within_seconds(served, db_url, tmp_path, api_url, why):
    started = time.monotonic()
    result = run_app(["every_30_min"], db_url, served, tmp_path, GITHUB_API_URL=api_url)
    assert result.returncode == 1 and why in result.stderr
    assert time.monotonic() - started < 20
    assert "?:" not in result.stderr and "retrying" not in result.stdout + result.stderr


def test_a_wrong_org_is_one_line_naming_it(served, db_url, tmp_path):
    result = run_app(["daily"], db_url, served, tmp_path, GITHUB_ORG="acme-typo")
    assert result.returncode == 1
    [line] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "GITHUB_ORG=acme-typo: GitHub knows no organization by that name" in line and "Not Found" in line


def test_help_shows_examples_for_every_command(tmp_path):
    for script in ("app.py", "backfill.py", "report.py"):
        result = subprocess.run(
            [sys.executable, str(ROOT / script), "--help"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert result.returncode == 0 and "examples:" in result.stdout, script


def test_daily_prints_a_line_a_person_reads_per_repo(served, db_url, tmp_path):
    served.new_item("widgets", 1, item_id=11, author=user("alice", 501), created=ago(weeks=3))
    result = run_app(["daily"], db_url, served, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "daily widgets: 1 on GitHub, 1 stored, 1 fetched again, 0 removed, 0 transferred" in result.stdout
    assert "{" not in result.stdout
