"""Cost follows changes: nrt_events walks the listings of repos where something changed, sweeps the others now
and then with conditional requests (a 304 costs no rate limit), and never lets a 304 vouch for what it did not
store."""

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.db import create_db_session
from chalicelib.models import Event, Issue, ListingPage, TimelineRead
from chalicelib.state import LISTINGS_WALKED
from tests.fake import commented, labeled
from tests.helpers import ALICE, MARIA, ago, count, fetch

LISTINGS = ("/issues/events", "/issues/comments")


def history(github):
    github.members = [MARIA]
    github.new_item("widgets", 1, item_id=11, author=ALICE, created=ago(days=5), updated=ago(hours=20))
    github.timelines[11] = [commented(3_000_000_901, ALICE, ago(days=4)), labeled(902, MARIA, ago(days=3), "bug")]
    github.new_item("gadgets", 2, item_id=12, author=ALICE, created=ago(days=6), updated=ago(hours=20))
    github.timelines[12] = [commented(3_000_000_903, MARIA, ago(days=5))]


def listing_requests(github, since: int) -> list[str]:
    return [line.split("?")[0] for line in github.log[since:] if line.split("?")[0].endswith(LISTINGS)]


def walked_hours_ago(db_url: str, hours: float) -> None:
    """As if the repos' listings were last walked that long ago (widgets a minute earlier): the sweep is due."""
    session = create_db_session(db_url)
    try:
        for minutes, repo in enumerate(("widgets", "gadgets")):
            LISTINGS_WALKED.of(repo).advance(session, datetime.now(UTC) - timedelta(hours=hours, minutes=-minutes))
    finally:
        session.close()


def sweep(invoke, db_url: str) -> None:
    """Two runs a sweep: two repos, a sweep every hour and a run every 10 minutes make one repo a run."""
    walked_hours_ago(db_url, 2)
    invoke("nrt_events")
    invoke("nrt_events")


@pytest.fixture
def walked_once(github, invoke, app_env):
    history(github)
    invoke("nrt_events")
    return app_env


def test_a_run_with_nothing_changed_walks_no_listing(github, invoke, walked_once):
    since, core = len(github.log), github.requests["core"]
    invoke("nrt_events")
    assert listing_requests(github, since) == []
    assert github.requests["core"] - core <= 1, "at most the org's repo listing"


def test_only_the_repo_that_changed_is_walked(github, invoke, walked_once):
    github.timelines[11].append(commented(3_000_000_904, MARIA, ago(minutes=1)))
    github.items[11]["updated_at"] = ago(minutes=1)
    since = len(github.log)
    invoke("nrt_events")
    walked = listing_requests(github, since)
    assert walked and all("/widgets/" in path for path in walked), walked
    assert fetch(walked_once, Event, (3_000_000_904, 11)).username == "maria"


def test_an_item_updated_just_before_the_last_walk_still_sends_its_repo_to_a_walk(github, invoke, walked_once):
    """Search indexes with a lag: an update from before the last walk began can first show up after it."""
    github.items[12]["updated_at"] = ago(minutes=5)
    since = len(github.log)
    invoke("nrt_events")
    assert any("/gadgets/" in path for path in listing_requests(github, since))


def test_a_sweep_of_quiet_repos_answers_304_and_costs_no_counted_request(github, invoke, walked_once):
    """The first sweep too: a repo's first walk keeps its start where that walk began, so the URLs stay."""
    since, core, not_modified = len(github.log), github.requests["core"], github.requests["not_modified"]
    sweep(invoke, walked_once)
    assert len(listing_requests(github, since)) == 4, "both listings of both repos"
    assert github.requests["not_modified"] - not_modified >= 4
    assert github.requests["core"] - core <= 2, "the org's repo listing, once a run, and nothing else"


def test_the_sweep_reaches_a_change_the_search_did_not_report(github, invoke, walked_once):
    """A label on an item whose `updated_at` GitHub did not move is read by the next sweep."""
    github.timelines[12].append(labeled(905, MARIA, ago(minutes=1), "triage"))
    invoke("nrt_events")
    assert fetch(walked_once, Event, (905, 12)) is None, "nothing told this run that gadgets changed"
    sweep(invoke, walked_once)
    assert fetch(walked_once, Event, (905, 12)).label["name"] == "triage"


def test_a_sweep_walks_a_share_of_the_quiet_repos_each_run_least_recently_walked_first(github, invoke, walked_once):
    walked_hours_ago(walked_once, 2)
    since = len(github.log)
    invoke("nrt_events")
    walked = {path.split("/")[3] for path in listing_requests(github, since)}
    assert walked == {"widgets"}, "two repos, a sweep every hour, a run every 10 minutes: one repo a run"


def test_a_repo_walked_within_the_sweep_interval_is_not_swept(github, invoke, walked_once, monkeypatch):
    monkeypatch.setenv("LISTINGS_SWEEP_HOURS", "3")
    walked_hours_ago(walked_once, 2)
    since = len(github.log)
    invoke("nrt_events")
    assert listing_requests(github, since) == []


def test_a_304_never_vouches_for_an_item_the_walk_that_read_the_page_did_not_know(github, invoke, walked_once):
    """Search indexes with a lag: a walk can read a page holding the event of an item not stored yet, and pass
    over it. The page's validator is kept with the items that walk knew, so once the item is stored the page is
    read again rather than answered 304, and the item is not marked read without its event."""
    github.new_item("widgets", 3, item_id=13, author=ALICE, created=ago(minutes=3), updated=ago(minutes=2))
    github.timelines[13] = [labeled(906, MARIA, ago(minutes=2), "bug")]
    github.unindexed.add(13)
    sweep(invoke, walked_once)
    assert fetch(walked_once, Issue, 13) is None and fetch(walked_once, Event, (906, 13)) is None
    github.unindexed.clear()
    invoke("nrt_events")
    assert fetch(walked_once, Event, (906, 13)) is not None
    assert fetch(walked_once, TimelineRead, 13) is not None
    assert count(walked_once, ListingPage, ListingPage.scope == "acme/widgets") >= 2


def org_listing(github, since: int) -> list[str]:
    return [line for line in github.log[since:] if line.startswith("GET /orgs/acme/repos")]


def test_an_unchanged_org_listing_answers_304_and_still_names_every_repo(github, invoke, app_env):
    invoke("every_30_min")
    core, not_modified = github.requests["core"], github.requests["not_modified"]
    github.new_item("gadgets", 5, item_id=15, author=ALICE, created=ago(minutes=5))
    invoke("every_30_min")
    assert github.requests["not_modified"] - not_modified == 1, "the org's repo listing"
    assert github.requests["core"] - core == 1, "the members page, and nothing for the repos"
    assert fetch(app_env, Issue, 15) is not None, "the repos the 304 gave back are searched"


def test_a_repo_added_to_the_org_is_seen_by_the_next_run(github, invoke, app_env, monkeypatch):
    monkeypatch.setenv("GITHUB_REPOS", "*")
    invoke("every_30_min")
    github.repos.append({"name": "doohickeys", "archived": False})
    github.new_item("doohickeys", 1, item_id=21, author=ALICE, created=ago(minutes=5))
    since = len(github.log)
    invoke("every_30_min")
    assert org_listing(github, since) and fetch(app_env, Issue, 21) is not None


def test_a_repo_archived_since_the_last_listing_is_left_out_under_star(github, invoke, app_env, monkeypatch):
    monkeypatch.setenv("GITHUB_REPOS", "*")
    invoke("every_30_min")
    github.repos[1]["archived"] = True
    github.new_item("gadgets", 7, item_id=27, author=ALICE, created=ago(minutes=5))
    invoke("every_30_min")
    assert fetch(app_env, Issue, 27) is None, "gadgets is archived: archived:false leaves it out"
