"""The default event path (repo listings + GraphQL reviews) on what github.com really does: listings refused past
some depth or cut short, partial GraphQL errors, RATE_LIMITED, passes that do not fit in one run. One bad thing
stops one thing, and an item is marked read only when its events are proven."""

import pytest

import backfill
from chalicelib.context import Deadline
from chalicelib.db import create_db_session
from chalicelib.entities import issue_row
from chalicelib.models import Event, EventPoll, Issue, JobRun, SyncState, TimelineRead
from chalicelib.runner import run_job
from chalicelib.state import LISTINGS
from chalicelib.store import upsert
from tests.fake import commented, labeled, reviewed
from tests.helpers import ALICE, MARIA, ago, count, fetch, last_run, mails_sent, rows
from tests.test_listings import BIG, PERIOD, history, load, stored_events

WIDGETS_EVENTS = "/repos/acme/widgets/issues/events"


def busy_widgets(github) -> None:
    """The history, with 120 more label events on widgets#1: its issue events listing takes two pages."""
    history(github)
    github.timelines[11] += [labeled(1000 + n, MARIA, ago(days=4, minutes=-n), f"l{n}") for n in range(120)]


def timeline_asked(github, repo: str, number: int) -> bool:
    return any(line.startswith(f"GET /repos/acme/{repo}/issues/{number}/timeline") for line in github.log)


def per_item_events(github, monkeypatch, tmp_path) -> list[tuple]:
    reference = f"sqlite:///{tmp_path}/per-item.db"
    load(reference, monkeypatch, "timelines")
    github.log.clear()
    return stored_events(reference)


@pytest.mark.parametrize("refusal", ["422 past page 1", 403, 404, 451])
def test_a_listing_refused_in_one_repo_loses_no_event_and_stops_only_that_repo(
    refusal, github, app_env, monkeypatch, tmp_path, slept
):
    busy_widgets(github)
    expected = per_item_events(github, monkeypatch, tmp_path)
    if refusal == "422 past page 1":
        github.listing_depth_limit["widgets"] = 1
    else:
        github.fail_next(WIDGETS_EVENTS, refusal)
    load(app_env, monkeypatch, "listings")
    assert stored_events(app_env) == expected
    run = last_run(app_env)
    assert run.status == "ok" and run.counts["listings_refused"] == ["widgets"]
    assert any("acme/widgets listings" in warning for warning in run.counts["warnings"])
    assert timeline_asked(github, "widgets", 1), "widgets#1 is read through its own timeline"
    assert not timeline_asked(github, "gadgets", 2), "gadgets' listings went on and proved its PR"
    assert {read.item_id for read in rows(app_env, TimelineRead)} == {11, 12}


def test_a_listing_that_ends_on_a_full_page_without_next_marks_nothing_it_cannot_prove(
    github, app_env, monkeypatch, tmp_path, slept
):
    busy_widgets(github)
    expected = per_item_events(github, monkeypatch, tmp_path)
    github.listing_without_next["widgets"] = 1
    load(app_env, monkeypatch, "listings")
    assert stored_events(app_env) == expected
    assert any("ended on a full page" in warning for warning in last_run(app_env).counts["warnings"])
    assert count(app_env, EventPoll, EventPoll.id == 11) == 2, "widgets#1 was read whole by its timeline"


def test_a_listing_out_of_order_proves_nothing(github, app_env, monkeypatch, tmp_path, slept):
    history(github)
    github.timelines[11].append(labeled(910, MARIA, ago(days=2), "later"))
    expected = per_item_events(github, monkeypatch, tmp_path)
    github.listing_out_of_order.add("widgets")
    load(app_env, monkeypatch, "listings")
    assert stored_events(app_env) == expected
    assert any("out of order" in warning for warning in last_run(app_env).counts["warnings"])
    assert timeline_asked(github, "widgets", 1)


def test_an_item_with_fewer_stored_comments_than_github_counts_goes_to_its_timeline(
    github, app_env, monkeypatch, slept
):
    history(github)
    github.timelines[11].append(commented(BIG + 909, MARIA, ago(days=2)))
    github.items[11]["comments"] = 2
    github.hidden_from_listings.add(BIG + 909)
    load(app_env, monkeypatch, "listings")
    assert fetch(app_env, Event, (BIG + 909, 11)) is not None
    assert timeline_asked(github, "widgets", 1) and not timeline_asked(github, "gadgets", 2)
    assert fetch(app_env, TimelineRead, 11).outcome == "read"


def two_pulls(github) -> None:
    history(github)
    github.new_item("widgets", 4, item_id=14, author=ALICE, created=ago(days=2), pr=True)
    github.timelines[14] = [reviewed(BIG + 908, MARIA, ago(days=1), pull="acme/widgets/4")]


def test_a_node_graphql_refuses_is_read_by_rest_and_the_other_nodes_are_kept(github, app_env, monkeypatch, slept):
    two_pulls(github)
    github.graphql_node_errors["I_12"] = "FORBIDDEN"
    load(app_env, monkeypatch, "listings")
    assert github.requests["graphql"] == 1
    assert fetch(app_env, Event, (BIG + 908, 14)) is not None, "from GraphQL"
    assert fetch(app_env, Event, (BIG + 904, 12)) is not None, "from REST"
    reviews_by_rest = [line for line in github.log if "/reviews" in line]
    assert reviews_by_rest == ["GET /repos/acme/gadgets/pulls/2/reviews?per_page=100"]
    assert any("FORBIDDEN" in warning for warning in last_run(app_env).counts["warnings"])
    assert {read.item_id for read in rows(app_env, TimelineRead)} == {11, 12, 14}


def test_a_pull_request_gone_between_search_and_reviews_stops_only_itself(github, app_env, monkeypatch, slept):
    two_pulls(github)
    gone = github.items[12]

    def delete_on_graphql(path: str) -> None:
        if path == "/graphql" and gone["id"] in github.items:
            github.delete(gone)

    github.on_request = delete_on_graphql
    load(app_env, monkeypatch, "listings")
    assert fetch(app_env, Event, (BIG + 908, 14)) is not None
    assert fetch(app_env, TimelineRead, 14).outcome == "read"
    assert fetch(app_env, TimelineRead, 12).outcome == "gone", "its own timeline answered 404, as REST did"
    warnings = last_run(app_env).counts["warnings"]
    assert any("acme/gadgets#2" in warning and "NOT_FOUND" in warning for warning in warnings)


def test_rate_limited_graphql_is_waited_out_and_asked_again(github, app_env, monkeypatch, slept):
    history(github)
    github.graphql_rate_limited = 1
    load(app_env, monkeypatch, "listings")
    assert github.requests["graphql"] == 2
    assert fetch(app_env, Event, (BIG + 904, 12)) is not None
    assert len([wait for wait in slept if 25 <= wait <= 32]) == 1, slept


def test_a_pass_that_does_not_fit_in_one_run_keeps_each_repos_progress_and_finishes_in_the_next(github, app_env, slept):
    history(github)
    github.timelines[11].append(commented(BIG + 912, MARIA, ago(hours=3)))
    github.items[11]["updated_at"] = ago(hours=3)
    spent = {"listings": False}

    def spend_on_comments(path: str) -> None:
        spent["listings"] = spent["listings"] or path.endswith("/issues/comments")

    github.on_request = spend_on_comments
    first = run_job("nrt_events", deadline=Deadline(lambda: -1.0 if spent["listings"] else 100.0))
    assert first.report.stopped_early
    assert fetch(app_env, SyncState, LISTINGS.of("gadgets").name) is not None
    assert fetch(app_env, SyncState, LISTINGS.of("widgets").name) is None
    assert fetch(app_env, Event, (905, 12)) is not None, "gadgets' closed event, within the pass"
    assert fetch(app_env, Event, (BIG + 912, 11)) is None, "widgets was not reached"
    assert last_run(app_env, "nrt_events").counts["progressed"] is True
    github.on_request = None
    github.log.clear()
    run_job("nrt_events")
    assert fetch(app_env, Event, (BIG + 912, 11)) is not None
    assert fetch(app_env, Event, (BIG + 904, 12)) is not None, "the older PR's review, by walking back to it"
    assert fetch(app_env, SyncState, LISTINGS.of("widgets").name) is not None
    assert last_run(app_env, "nrt_events").status == "ok"
    listings = [line.split("?")[0] for line in github.log if "/issues/events" in line]
    assert listings[:2] == ["GET " + WIDGETS_EVENTS, "GET /repos/acme/gadgets/issues/events"], "unreached repo first"


def test_three_partial_runs_that_move_no_progress_alert_once(ses, alerts_on, github, app_env, slept):
    history(github)
    for _ in range(4):
        run_job("nrt_events", deadline=Deadline(lambda: -1.0))
    runs = [run for run in rows(app_env, JobRun) if run.job == "nrt_events"]
    assert [run.status for run in runs] == ["partial"] * 4
    assert [run.counts["progressed"] for run in runs] == [False] * 4
    assert mails_sent(ses) == 1


def test_a_backfill_resumed_after_ctrl_c_does_not_read_finished_repos_again(github, app_env, monkeypatch, slept):
    history(github)
    monkeypatch.setenv("DB_URL", app_env)

    def interrupt_at_gadgets(path: str) -> None:
        if path == "/repos/acme/gadgets/issues/events":
            raise KeyboardInterrupt

    github.on_request = interrupt_at_gadgets
    assert backfill.main([*PERIOD, "--events"]) == 130
    github.on_request = None
    github.log.clear()
    assert backfill.main([*PERIOD, "--events"]) == 0
    assert not [line for line in github.log if line.startswith("GET /repos/acme/widgets/issues/")]
    assert fetch(app_env, Event, (BIG + 904, 12)) is not None
    assert {read.item_id for read in rows(app_env, TimelineRead)} == {11, 12}


def test_dry_run_estimates_the_listing_path_not_a_timeline_per_item(github, app_env, monkeypatch, capsys):
    history(github)
    monkeypatch.setenv("DB_URL", app_env)
    assert backfill.main([*PERIOD, "--events", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "~4 listing requests and ~1 GraphQL queries" in out, out
    assert "one per item" not in out


def test_nrt_events_reads_a_changed_item_by_its_timeline_when_its_repos_listing_is_refused(
    github, invoke, app_env, monkeypatch
):
    history(github)
    load(app_env, monkeypatch, "listings")
    github.timelines[11].append(commented(BIG + 911, MARIA, ago(minutes=3)))
    github.items[11].update(updated_at=ago(minutes=3), comments=2)
    github.fail_next("/repos/acme/widgets/issues/comments", 451)
    invoke("nrt_events")
    assert fetch(app_env, Event, (BIG + 911, 11)) is not None
    run = last_run(app_env, "nrt_events")
    assert run.status == "ok" and run.counts["listings_refused"] == ["widgets"]
    assert run.counts["timelines_instead_of_listings"] == 1


def test_a_walk_cut_by_the_deadline_keeps_its_pages_and_the_next_run_finishes_it(github, app_env, monkeypatch, slept):
    busy_widgets(github)
    github.timelines[11].append(labeled(1200, MARIA, ago(hours=2), "late"))
    github.items[11]["updated_at"] = ago(hours=2)
    load(app_env, monkeypatch, "timelines")
    github.timelines[11] += [labeled(1300 + n, MARIA, ago(minutes=120 - n), f"n{n}") for n in range(110)]
    github.items[11]["updated_at"] = ago(minutes=1)
    monkeypatch.setenv("EVENTS_SOURCE", "listings")
    asked = {"pages": 0}

    def count_widgets_pages(path: str) -> None:
        asked["pages"] += path == WIDGETS_EVENTS

    github.on_request = count_widgets_pages
    first = run_job("nrt_events", deadline=Deadline(lambda: -1.0 if asked["pages"] else 100.0))
    assert first.report.stopped_early and asked["pages"] == 1, "the walk stopped after its first page"
    assert fetch(app_env, Event, (1350, 11)) is not None, "what the first page held is stored"
    assert fetch(app_env, Event, (1305, 11)) is None, "the second page was not asked"
    assert fetch(app_env, SyncState, LISTINGS.of("widgets").name) is None
    github.on_request = None
    run_job("nrt_events")
    assert all(fetch(app_env, Event, (1300 + n, 11)) is not None for n in range(110))
    assert fetch(app_env, SyncState, LISTINGS.of("widgets").name) is not None


def test_an_item_another_job_stores_during_the_walk_is_not_marked_read_without_its_events(
    github, app_env, monkeypatch, slept
):
    history(github)
    stored = {"late": False}

    def opened_and_stored_by_another_job(path: str) -> None:
        """As the walk asks its first page, an issue is opened, labeled and stored by every_30_min."""
        if path == WIDGETS_EVENTS and not stored["late"]:
            stored["late"] = True
            late = github.new_item("widgets", 5, item_id=15, author=ALICE, created=ago(minutes=2))
            github.timelines[15] = [labeled(915, MARIA, ago(minutes=1), "bug")]
            session = create_db_session(app_env)
            upsert(session, Issue, [issue_row(late)])
            session.commit()
            session.close()

    github.on_request = opened_and_stored_by_another_job
    load(app_env, monkeypatch, "listings")
    assert stored["late"]
    assert fetch(app_env, Event, (915, 15)) is not None, "read by its own timeline, not taken as proven"
    assert count(app_env, EventPoll, EventPoll.id == 15) == 1
