"""Events read per repo (issue events and comments listings) and reviews in bulk (GraphQL), the default path:
the same rows as per-item timelines, at a fraction of the requests."""

import pytest
from sqlalchemy import select

import backfill
from chalicelib import config
from chalicelib.db import create_db_session
from chalicelib.models import Event, TimelineRead
from tests.fake import closed, commented, labeled, reviewed
from tests.helpers import ALICE, MARIA, ago, count, fetch, rows

# Comment and review ids on github.com passed 2^31 in 2024; GraphQL's `databaseId` (an Int) cannot hold them.
BIG = 3_000_000_000
PERIOD = ["--since", "30d", "--repos", "widgets,gadgets"]


def history(github):
    """An issue with a comment and a label, a PR with a comment, a review and a close, and an old issue."""
    github.members = [MARIA]
    github.new_item("widgets", 1, item_id=11, author=ALICE, created=ago(days=5))
    github.timelines[11] = [commented(BIG + 901, ALICE, ago(days=4)), labeled(902, MARIA, ago(days=3), "bug")]
    github.new_item("gadgets", 2, item_id=12, author=ALICE, created=ago(days=6), pr=True, closed=ago(hours=20))
    github.timelines[12] = [
        commented(BIG + 903, MARIA, ago(days=5)),
        reviewed(BIG + 904, MARIA, ago(days=4), pull="acme/gadgets/2"),
        closed(905, MARIA, ago(hours=20)),
    ]


def stored_events(db_url) -> list[tuple]:
    session = create_db_session(db_url)
    try:
        return [
            tuple((c.name, getattr(e, c.name)) for c in Event.__table__.columns)
            for e in session.scalars(select(Event).order_by(Event.id))
        ]
    finally:
        session.close()


def load(db_url, monkeypatch, source, *extra):
    monkeypatch.setenv("DB_URL", db_url)
    monkeypatch.setenv("EVENTS_SOURCE", source)
    config.reset_caches()
    assert backfill.main([*PERIOD, "--events", *extra]) == 0


def test_per_repo_listings_store_exactly_the_rows_per_item_timelines_do(github, app_env, monkeypatch, tmp_path, slept):
    history(github)
    per_item = f"sqlite:///{tmp_path}/per-item.db"
    load(per_item, monkeypatch, "timelines")
    load(app_env, monkeypatch, "listings")
    assert stored_events(app_env) == stored_events(per_item)
    assert len(stored_events(app_env)) == 5
    assert count(app_env, TimelineRead) == 2


def test_reviews_by_rest_and_by_graphql_are_the_same_rows(github, app_env, monkeypatch, tmp_path, slept):
    history(github)
    by_rest = f"sqlite:///{tmp_path}/rest.db"
    monkeypatch.setenv("REVIEWS_VIA", "rest")
    load(by_rest, monkeypatch, "listings")
    monkeypatch.setenv("REVIEWS_VIA", "graphql")
    graphql_before = github.requests["graphql"]
    load(app_env, monkeypatch, "listings")
    assert github.requests["graphql"] == graphql_before + 1
    assert stored_events(app_env) == stored_events(by_rest)
    review = fetch(app_env, Event, (BIG + 904, 12))
    assert review.event == "reviewed" and review.username == "maria" and review.state == "approved"


def test_an_edited_comment_updates_its_row_through_the_listing(github, invoke, app_env):
    history(github)
    invoke("nrt_events")
    github.timelines[11][0] = commented(BIG + 901, ALICE, ago(days=4), body="Thanks! (edited)", updated=ago(minutes=2))
    github.items[11]["updated_at"] = ago(minutes=2)
    invoke("nrt_events")
    assert fetch(app_env, Event, (BIG + 901, 11)).body == "Thanks! (edited)"


def test_a_quiet_half_hour_costs_at_most_three_requests_per_repo_and_one_per_changed_pull(github, invoke, app_env):
    history(github)
    invoke("nrt_events")
    before = dict(github.requests)
    github.timelines[12].append(reviewed(BIG + 906, MARIA, ago(minutes=5), pull="acme/gadgets/2"))
    github.items[12]["updated_at"] = ago(minutes=5)
    invoke("nrt_events")
    spent = {kind: github.requests[kind] - before.get(kind, 0) for kind in ("search", "core", "graphql")}
    assert sum(spent.values()) <= 3 * 2 + 1, spent
    assert fetch(app_env, Event, (BIG + 906, 12)) is not None


@pytest.mark.parametrize("setting", ["EVENTS_SOURCE", "REVIEWS_VIA"])
def test_a_setting_that_is_not_a_choice_is_named(monkeypatch, setting):
    monkeypatch.setenv(setting, "carrier-pigeon")
    with pytest.raises(config.ConfigError, match=setting):
        config.get_settings()


def test_items_created_before_the_listings_reach_are_left_to_timelines(github, invoke, app_env):
    history(github)
    github.new_item("widgets", 3, item_id=13, author=ALICE, created=ago(days=40), updated=ago(days=40))
    github.timelines[13] = [commented(BIG + 907, MARIA, ago(days=39))]
    backfill.main(["--since", "60d", "--repos", "widgets,gadgets"])
    invoke("nrt_events")
    assert fetch(app_env, Event, (BIG + 907, 13)) is not None, "read whole by its own timeline (never read before)"
    assert {r.item_id for r in rows(app_env, TimelineRead)} == {11, 12, 13}


def test_pull_requests_of_several_repos_share_one_graphql_query(github, app_env, monkeypatch, slept):
    history(github)
    github.new_item("widgets", 4, item_id=14, author=ALICE, created=ago(days=2), pr=True)
    github.timelines[14] = [reviewed(BIG + 908, MARIA, ago(days=1), pull="acme/widgets/4")]
    load(app_env, monkeypatch, "listings")
    assert github.requests["graphql"] == 1
    assert fetch(app_env, Event, (BIG + 908, 14)) is not None and fetch(app_env, Event, (BIG + 904, 12)) is not None


def test_a_failed_reviews_query_leaves_its_pull_requests_unread_and_the_next_run_reads_them(
    github, app_env, monkeypatch, slept
):
    history(github)
    monkeypatch.setenv("DB_URL", app_env)
    monkeypatch.setenv("EVENTS_SOURCE", "listings")
    github.fail_next("/graphql", 401)
    assert backfill.main([*PERIOD, "--events"]) != 0
    assert {r.item_id for r in rows(app_env, TimelineRead)} == {11}, "the issue is complete; the PR lacks its review"
    load(app_env, monkeypatch, "listings")
    assert fetch(app_env, Event, (BIG + 904, 12)) is not None
    assert {r.item_id for r in rows(app_env, TimelineRead)} == {11, 12}


def test_a_later_run_reads_reviews_only_of_pull_requests_updated_since_its_last_pass(github, invoke, app_env):
    history(github)
    invoke("nrt_events")
    before = github.requests["graphql"]
    invoke("nrt_events")
    assert github.requests["graphql"] == before, "the PR updated 20 hours ago was read by the first run"
