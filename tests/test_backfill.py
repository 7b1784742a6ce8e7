"""backfill.py: a period of history, stored once, resumable, and clear about bad input."""

from datetime import UTC, datetime, timedelta
from urllib.parse import unquote_plus

import pytest
from sqlalchemy import select

import backfill
from chalicelib import history
from chalicelib.db import create_db_session
from chalicelib.github import Window
from chalicelib.history import WindowDone
from chalicelib.models import BackfillCheckpoint, Event, Issue, JobRun, PullRequest
from tests.fake import commented
from tests.helpers import ALICE, count

START = datetime(2024, 1, 1, tzinfo=UTC)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def busy_repo(github):
    """2,500 issues and PRs in 2024 in one repo, a few outside the period."""
    for n in range(1, 2501):
        created = START + timedelta(minutes=150 * n)
        github.new_item("widgets", n, item_id=n, author=ALICE, created=stamp(created), pr=n % 4 == 0)
    github.new_item("widgets", 9001, item_id=9001, author=ALICE, created="2023-06-01T00:00:00Z")
    return github


def period(*extra):
    return ["--since", "2024-01-01", "--until", "2024-12-31", "--repos", "widgets", *extra]


def test_every_item_of_a_busy_repo_is_stored_exactly_once(busy_repo, app_env, slept, capsys):
    assert backfill.main(period()) == 0
    assert count(app_env, Issue) + count(app_env, PullRequest) == 2500
    assert count(app_env, PullRequest) == 625
    assert not any("page=11" in line for line in busy_repo.log)
    assert "backfill done" in capsys.readouterr().out


def test_second_run_inserts_nothing_and_asks_no_search(busy_repo, app_env, slept):
    backfill.main(period())
    searches = busy_repo.requests["search"]
    assert backfill.main(period()) == 0
    assert busy_repo.requests["search"] == searches
    session = create_db_session(app_env)
    last = session.scalars(select(JobRun).order_by(JobRun.id.desc()).limit(1)).one()
    session.close()
    assert last.job == "backfill" and last.status == "ok" and last.counts["tables"] == {}


def test_interrupted_run_resumes_without_fetching_completed_windows(busy_repo, app_env, slept, monkeypatch):
    real_store = history.store_items
    calls = {"n": 0}

    def store_then_crash(ctx, items):
        calls["n"] += 1
        if calls["n"] == 3:
            raise ConnectionError("connection to the database lost")
        return real_store(ctx, items)

    monkeypatch.setattr(history, "store_items", store_then_crash)
    assert backfill.main(period("--only", "issues")) == 1
    session = create_db_session(app_env)
    done = session.scalars(select(BackfillCheckpoint)).all()
    session.close()
    assert len(done) == 2
    done_windows = {f"{c.window_start:%Y-%m-%dT%H:%M:%SZ}..{c.window_end:%Y-%m-%dT%H:%M:%SZ}" for c in done}
    first_run = unquote_plus("\n".join(busy_repo.log))
    assert all(f"created:{window}" in first_run for window in done_windows)
    monkeypatch.setattr(history, "store_items", real_store)
    log_start = len(busy_repo.log)
    assert backfill.main(period("--only", "issues")) == 0
    resumed = unquote_plus("\n".join(busy_repo.log[log_start:]))
    assert not any(f"created:{window}" in resumed for window in done_windows)
    assert count(app_env, Issue) == 1875


def test_restart_ignores_checkpoints(busy_repo, app_env, slept):
    backfill.main(period("--only", "prs"))
    searches = busy_repo.requests["search"]
    assert backfill.main(period("--only", "prs", "--restart")) == 0
    assert busy_repo.requests["search"] > searches
    assert count(app_env, PullRequest) == 625


def test_events_option_loads_timelines(github, app_env, slept):
    github.new_item("widgets", 1, item_id=11, author=ALICE, created="2024-02-01T00:00:00Z")
    github.timelines[11] = [commented(901, ALICE, "2024-02-02T00:00:00Z")]
    assert backfill.main(period("--events")) == 0
    assert count(app_env, Event) == 1


def test_dry_run_prints_windows_and_estimate_and_writes_nothing(busy_repo, app_env, tmp_path, capsys):
    assert backfill.main(period("--dry-run")) == 0
    out = capsys.readouterr().out
    assert "widgets issues" in out and "widgets prs" in out and "estimate:" in out and "Nothing was written" in out
    assert "1875 items" in out and "625 items" in out
    session = create_db_session(app_env)
    from sqlalchemy import inspect

    tables = inspect(session.get_bind()).get_table_names()
    session.close()
    assert tables == []


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--since", "2024-13-01"], "is not a date"),
        (["--since", "2024-05-01", "--until", "2024-04-01"], "is after --until"),
    ],
)
def test_bad_dates_exit_with_status_2(arguments, message, capsys, app_env):
    with pytest.raises(SystemExit) as raised:
        backfill.main(arguments)
    assert raised.value.code == 2 and message in capsys.readouterr().err


def test_unknown_repo_exits_with_status_2(github, app_env, capsys):
    assert backfill.main([*period()[:-1], "nope"]) == 2
    assert "unknown repo acme/nope" in capsys.readouterr().err


def test_missing_token_explains_the_unauthenticated_limits(github, app_env, monkeypatch, capsys):
    monkeypatch.delenv("GH_TOKEN")
    assert backfill.main(period()) == 2
    err = capsys.readouterr().err
    assert "60 core requests per hour" in err and "--unauthenticated" in err


def test_unreachable_database_exits_with_status_2(github, app_env, monkeypatch, capsys):
    github.new_item("widgets", 1, item_id=11, author=ALICE, created="2024-02-01T00:00:00Z")
    monkeypatch.setenv("DB_URL", "postgresql+psycopg2://metrics:secret@127.0.0.1:1/metrics")
    assert backfill.main(period()) == 2
    err = capsys.readouterr().err
    assert "database error at postgresql+psycopg2://metrics:***@127.0.0.1:1/metrics" in err
    assert "secret" not in err


def test_unauthenticated_on_purpose_is_not_warned_about(github, app_env, monkeypatch, capsys, slept):
    monkeypatch.delenv("GH_TOKEN")
    assert backfill.main([*period(), "--unauthenticated"]) == 0
    assert "GH_TOKEN is not set" not in capsys.readouterr().err


def test_a_failure_before_any_window_does_not_promise_kept_windows(github, app_env, capsys, slept):
    github.fail_next("/search/issues", 403)
    github.failure_message = "Resource not accessible by integration"
    assert backfill.main(period()) == 1
    err = capsys.readouterr().err
    assert "Resource not accessible by integration" in err and "kept" not in err


def test_the_summary_is_printed_once(github, app_env, capsys, slept):
    github.new_item("widgets", 1, item_id=11, author=ALICE, created="2024-02-01T00:00:00Z")
    assert backfill.main(period()) == 0
    captured = capsys.readouterr()
    assert (captured.out + captured.err).count("issues +1") == 1


def test_the_progress_bar_has_a_total_a_percentage_and_fits_80_columns(capsys):
    progress = backfill.Progress(interactive=True)
    progress.found(total=200, already_stored=50)
    window = Window(START, START + timedelta(days=30))
    progress.window_done(WindowDone("amplify-category-api", "issues", window, [{}] * 50, search_requests=1))
    progress.close()
    last = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()[-1]
    assert "50%" in last and "100/200 items" in last and "1 windows" in last
    assert len(last) <= 80


def test_events_after_a_plain_backfill_reads_the_timelines_it_skipped(github, app_env, slept):
    github.new_item("widgets", 1, item_id=11, author=ALICE, created="2024-02-01T00:00:00Z")
    github.timelines[11] = [commented(901, ALICE, "2024-02-02T00:00:00Z")]
    assert backfill.main(period()) == 0
    searches = github.requests["search"]
    assert backfill.main(period("--events")) == 0
    assert count(app_env, Event) == 1
    assert github.requests["search"] == searches, "the checkpointed windows are not searched again"
