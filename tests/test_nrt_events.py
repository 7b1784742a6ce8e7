"""nrt_events on the per-item path (EVENTS_SOURCE=timelines): timelines of recently updated items, with ETags,
inside the Lambda's time. The per-repo path is tested in test_listings.py."""

import pytest
from sqlalchemy import select

from chalicelib.db import create_db_session
from chalicelib.models import Event, EventPoll
from chalicelib.runner import run_job
from tests.fake import commented, cross_referenced, labeled, reviewed, user
from tests.helpers import ago, count, fetch, last_run

ALICE, MAINTAINER = user("alice", 501), user("maria", 601)


@pytest.fixture(autouse=True)
def per_item_timelines(monkeypatch):
    monkeypatch.setenv("EVENTS_SOURCE", "timelines")


@pytest.fixture
def issue(github):
    payload = github.new_item("widgets", 1, item_id=11, author=ALICE, created=ago(hours=5), updated=ago(hours=1))
    github.timelines[11] = [commented(901, ALICE, ago(hours=4)), labeled(902, MAINTAINER, ago(hours=3), "bug")]
    return payload


def test_first_run_stores_tracked_events_and_page_etags(github, invoke, app_env, issue):
    invoke("nrt_events")
    comment = fetch(app_env, Event, (901, 11))
    assert comment.event == "commented" and comment.username == "alice" and comment.body == "Thanks!"
    label = fetch(app_env, Event, (902, 11))
    assert label.username == "maria" and label.label["name"] == "bug" and label.repo == "widgets"
    poll = fetch(app_env, EventPoll, (11, 1))
    assert poll.etag.startswith('W/"') and poll.page_size == 2


def test_unchanged_timeline_answers_304_and_writes_nothing(github, invoke, app_env, issue):
    invoke("nrt_events")
    invoke("nrt_events")
    run = last_run(app_env)
    assert run.counts["timeline_pages"] == {"fetched": 0, "not_modified": 1}
    assert run.counts["tables"]["issues"]["updated"] == 0 and "events" not in run.counts["tables"]
    assert run.counts["requests"]["not_modified"] == 2, "the timeline and the org's repo listing"


def test_edited_comment_and_new_reaction_update_the_event(github, invoke, app_env, issue):
    invoke("nrt_events")
    github.timelines[11][0] = commented(
        901, ALICE, issue["created_at"], body="Thanks! (edited)", updated=ago(minutes=1), heart=3
    )
    invoke("nrt_events")
    comment = fetch(app_env, Event, (901, 11))
    assert comment.body == "Thanks! (edited)" and comment.reactions["heart"] == 3
    assert comment.updated_at > comment.created_at


def test_reviewed_event_takes_its_author_and_time_from_user_and_submitted_at(github, invoke, app_env):
    github.new_item("widgets", 2, item_id=12, author=ALICE, created=ago(hours=5), pr=True)
    submitted = ago(hours=2)
    github.timelines[12] = [reviewed(903, MAINTAINER, submitted)]
    invoke("nrt_events")
    review = fetch(app_env, Event, (903, 12))
    assert review.username == "maria" and review.state == "approved"
    assert review.created_at.strftime("%Y-%m-%dT%H:%M:%SZ") == submitted


def test_cross_referenced_event_gets_a_stable_key_when_tracked(github, invoke, app_env, monkeypatch, issue):
    monkeypatch.setenv("TRACKED_EVENTS", "commented,cross-referenced")
    github.timelines[11].append(cross_referenced(MAINTAINER, ago(hours=2), source_number=77))
    invoke("nrt_events")
    github.timelines[11].append(commented(904, ALICE, ago(minutes=30)))
    invoke("nrt_events")
    session = create_db_session(app_env)
    events = session.scalars(select(Event).where(Event.event == "cross-referenced")).all()
    session.close()
    assert len(events) == 1 and events[0].id < 0 and events[0].username == "maria"
    assert count(app_env, Event, Event.event == "labeled") == 0


def test_timeline_over_a_hundred_events_uses_two_pages_and_two_etags(github, invoke, app_env, issue):
    github.timelines[11] = [commented(1000 + n, ALICE, ago(hours=4)) for n in range(150)]
    invoke("nrt_events")
    assert count(app_env, Event) == 150
    assert count(app_env, EventPoll) == 2
    github.timelines[11].append(commented(2000, MAINTAINER, ago(minutes=2)))
    invoke("nrt_events")
    assert fetch(app_env, Event, (2000, 11)) is not None
    assert last_run(app_env).counts["timeline_pages"] == {"fetched": 1, "not_modified": 1}


def test_new_event_after_a_full_last_page_is_found(github, invoke, app_env, issue):
    github.timelines[11] = [commented(1000 + n, ALICE, ago(hours=4)) for n in range(100)]
    invoke("nrt_events")
    github.timelines[11].append(commented(2000, MAINTAINER, ago(minutes=2)))
    invoke("nrt_events")
    assert fetch(app_env, Event, (2000, 11)) is not None


def test_deleted_issue_timeline_404_does_not_stop_the_run(github, invoke, app_env, issue):
    github.new_item("widgets", 2, item_id=12, author=ALICE, created=ago(hours=5))
    github.fail_next("/issues/2/timeline", 404)
    invoke("nrt_events")
    assert fetch(app_env, Event, (901, 11)) is not None
    run = last_run(app_env)
    assert run.status == "ok" and any("404" in warning for warning in run.counts["warnings"])


class ShrinkingContext:
    """A Lambda context whose remaining time drops by ten seconds with every timeline request."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)

    def spend(self, path: str) -> None:
        if path.endswith("/timeline"):
            self.seconds -= 10


def test_deadline_mid_run_commits_what_was_done_and_the_next_run_finishes(github, app_env, monkeypatch, slept):
    monkeypatch.setenv("TIMELINE_WORKERS", "1")
    for n in range(1, 11):
        github.new_item("widgets", n, item_id=n, author=ALICE, created=ago(hours=5))
        github.timelines[n] = [commented(100 + n, ALICE, ago(hours=4))]
    context = ShrinkingContext(60)
    github.on_request = context.spend
    first = run_job("nrt_events", lambda_context=context)
    assert first.report.stopped_early
    done = count(app_env, Event)
    assert 0 < done < 10
    assert count(app_env, EventPoll) == done
    github.on_request = None
    run_job("nrt_events", lambda_context=ShrinkingContext(300))
    assert count(app_env, Event) == 10
    assert last_run(app_env).status == "ok"


def test_pages_polled_by_the_original_app_are_paged_past_once(github, invoke, app_env, issue):
    invoke("nrt_events")
    session = create_db_session(app_env)
    session.get(EventPoll, (11, 1)).page_size = None
    session.commit()
    session.close()
    invoke("nrt_events")
    assert last_run(app_env).counts["timeline_pages"] == {"fetched": 1, "not_modified": 1}
    assert fetch(app_env, EventPoll, (11, 2)).page_size == 0
    invoke("nrt_events")
    assert last_run(app_env).counts["timeline_pages"] == {"fetched": 0, "not_modified": 2}
