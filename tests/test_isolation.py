"""One bad repo, item or answer costs only itself; the rest of the run goes on, and counts say what was kept."""

import pytest

from chalicelib import config, load
from chalicelib.config import ConfigError
from chalicelib.db import create_db_session
from chalicelib.entities import issue_row
from chalicelib.models import Event, Issue, PullRequest, SyncState, TimelineRead, Transfer, create_all
from chalicelib.runner import JobFailed
from chalicelib.state import ITEMS
from chalicelib.store import upsert
from tests.fake import commented, item
from tests.helpers import ALICE, ago, count, fetch, last_run, mails_sent, rows


def test_a_renamed_repo_is_named_and_the_others_are_synced(ses, alerts_on, github, invoke, app_env, monkeypatch):
    monkeypatch.setenv("GITHUB_REPOS", "widgets,old-name")
    github.new_item("widgets", 1, item_id=11, author=ALICE, created=ago(days=1))
    invoke("every_30_min")
    invoke("every_30_min")
    run = last_run(app_env)
    assert run.status == "ok" and run.counts["unknown_repos"] == ["old-name"]
    assert any("acme/old-name" in warning for warning in run.counts["warnings"])
    assert fetch(app_env, Issue, 11) is not None
    assert not any("old-name" in line for line in github.log if line.startswith("GET /search"))
    assert mails_sent(ses) == 1


def test_a_repo_list_that_names_nothing_is_a_configuration_error(monkeypatch):
    monkeypatch.setenv("GITHUB_REPOS", " , ")
    with pytest.raises(ConfigError, match="GITHUB_REPOS names nothing"):
        config.get_settings()


def test_an_issue_moved_to_a_repo_we_do_not_track_is_recorded_and_retired(github, invoke, app_env):
    old = github.new_item("widgets", 6, item_id=16, author=ALICE, created=ago(days=2))
    invoke("every_30_min")
    github.repos.append({"name": "elsewhere", "archived": False})
    github.transfer(old, "elsewhere", 3, new_id=1603)
    invoke("daily")
    transfer = fetch(app_env, Transfer, (16, 1603))
    assert transfer is not None and transfer.new_repo == "elsewhere"
    assert fetch(app_env, Issue, 16) is None and fetch(app_env, Issue, 1603) is None
    invoke("daily")
    assert count(app_env, Transfer) == 1


def test_incomplete_search_results_are_asked_again(github, invoke, app_env, slept):
    github.new_item("widgets", 1, item_id=11, author=ALICE, created=ago(days=1))
    github.incomplete_searches = 2
    invoke("every_30_min")
    assert fetch(app_env, Issue, 11) is not None
    assert fetch(app_env, SyncState, ITEMS.name) is not None
    assert slept[:2] == [1.0, 2.0]


def test_a_search_that_stays_incomplete_moves_no_watermark(github, invoke, app_env, slept):
    github.new_item("widgets", 1, item_id=11, author=ALICE, created=ago(days=1))
    github.incomplete_searches = -1
    invoke("every_30_min")
    assert fetch(app_env, Issue, 11) is not None
    assert fetch(app_env, SyncState, ITEMS.name) is None
    assert any("stayed incomplete" in warning for warning in last_run(app_env).counts["warnings"])


def test_daily_does_not_act_on_incomplete_counts(github, invoke, app_env, slept):
    create_all(app_env)
    gone = item(github.api, "acme", "widgets", 2, item_id=12, author=ALICE, created=ago(weeks=60))
    session = create_db_session(app_env)
    upsert(session, Issue, [issue_row(gone)])
    session.commit()
    session.close()
    github.incomplete_searches = -1
    invoke("daily")
    assert fetch(app_env, Issue, 12) is not None
    assert fetch(app_env, SyncState, "daily:widgets") is None


def test_one_malformed_item_is_skipped_with_its_url_and_the_rest_is_stored(github, invoke, app_env):
    github.new_item("widgets", 1, item_id=11, author=ALICE, created=ago(days=1))
    no_id = github.new_item("widgets", 2, item_id=12, author=ALICE, created=ago(days=1))
    no_id["id"] = None
    github.new_item("widgets", 3, item_id=13, author=ALICE, created=ago(days=1))["closed_at"] = "yesterday"
    github.new_item("widgets", 4, item_id=14, author=ALICE, created=ago(days=1))["labels"] = "bug"
    github.new_item("widgets", 5, item_id=15, author=ALICE, created=ago(days=1))["body"] = "half a pair: \ud800"
    invoke("every_30_min")
    assert [row.id for row in rows(app_env, Issue)] == [11]
    run = last_run(app_env)
    assert run.status == "ok" and run.counts["skipped"] == 4
    for number in (2, 3, 4, 5):
        assert any(f"/issues/{number}" in warning for warning in run.counts["warnings"])
    assert any("items/0/id" in departure for departure in github.contract_violations), "malformed on purpose"
    github.contract_violations.clear()


def test_a_failed_run_counts_only_what_it_committed(github, invoke, app_env, monkeypatch):
    github.new_item("widgets", 1, item_id=11, author=ALICE, created=ago(days=1))
    github.new_item("widgets", 2, item_id=12, author=ALICE, created=ago(days=1), pr=True)
    real_upsert = load.upsert

    def pull_requests_fail(session, model, rows_, **options):
        if model is PullRequest:
            raise RuntimeError("connection to the database lost")
        return real_upsert(session, model, rows_, **options)

    monkeypatch.setattr(load, "upsert", pull_requests_fail)
    with pytest.raises(JobFailed):
        invoke("every_30_min")
    run = last_run(app_env)
    assert count(app_env, Issue) == 0
    assert run.status == "failed" and run.counts["tables"] == {}


def test_a_repo_named_in_another_case_is_synced_under_githubs_spelling(github, invoke, app_env, monkeypatch):
    monkeypatch.setenv("GITHUB_REPOS", "Widgets,GADGETS")
    github.new_item("widgets", 1, item_id=11, author=ALICE, created=ago(hours=5))
    github.timelines[11] = [commented(901, ALICE, ago(hours=4))]
    invoke("nrt_events")
    run = last_run(app_env)
    assert run.status == "ok" and run.counts["unknown_repos"] == []
    assert fetch(app_env, Event, (901, 11)) is not None, "its events were read: the repo is 'widgets' everywhere"
    assert fetch(app_env, TimelineRead, 11).outcome == "read"
    assert any(line.startswith("GET /repos/acme/widgets/issues/events") for line in github.log)


def test_backfill_repos_named_in_another_case_use_githubs_spelling(github, app_env, monkeypatch, slept):
    monkeypatch.setenv("EVENTS_SOURCE", "listings")
    github.new_item("widgets", 1, item_id=11, author=ALICE, created=ago(days=2))
    github.timelines[11] = [commented(901, ALICE, ago(days=1))]
    import backfill

    assert backfill.main(["--since", "7d", "--repos", "WIDGETS", "--events"]) == 0
    assert fetch(app_env, Event, (901, 11)) is not None
