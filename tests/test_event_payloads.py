"""Timeline and search payloads as GitHub really sends them: no data lost to keys, types or older shapes."""

import json
from pathlib import Path

import pytest

from chalicelib.entities import event_row, issue_row, pull_request_row
from chalicelib.models import Event, Issue, PullRequest
from chalicelib.store import upsert
from tests.fake import committed, cross_referenced, line_commented
from tests.helpers import ALICE, MARIA, a_pull_request, ago, an_issue, count, rows

RECORDED = Path(__file__).resolve().parents[2] / "shared" / "github-payloads"
PARENT = {"id": 11, "org": "acme", "repo": "widgets"}


def test_every_commit_of_a_pull_request_is_kept_with_its_time(github, invoke, app_env, monkeypatch):
    monkeypatch.setenv("TRACKED_EVENTS", "committed")
    github.new_item("widgets", 2, item_id=12, author=ALICE, created=ago(hours=5), pr=True)
    github.timelines[12] = [committed("a" * 40, "2026-11-27T08:00:00Z"), committed("b" * 40, "2026-11-27T09:00:00Z")]
    invoke("nrt_events")
    stored = rows(app_env, Event)
    assert len(stored) == 2
    assert sorted(f"{event.created_at:%H:%M}" for event in stored) == ["08:00", "09:00"]
    assert {event.extra["sha"][0] for event in stored} == {"a", "b"} and all(e.username is None for e in stored)


def test_a_review_thread_is_one_event_that_grows_with_its_replies(github, invoke, app_env, monkeypatch):
    monkeypatch.setenv("TRACKED_EVENTS", "line-commented")
    github.new_item("widgets", 2, item_id=12, author=ALICE, created=ago(hours=5), updated=ago(hours=3), pr=True)
    github.timelines[12] = [line_commented([(71, MARIA, ago(hours=4))])]
    invoke("nrt_events")
    github.timelines[12] = [line_commented([(71, MARIA, ago(hours=4)), (72, ALICE, ago(minutes=5))])]
    github.items[12]["updated_at"] = ago(minutes=5)
    invoke("nrt_events")
    [thread] = rows(app_env, Event)
    assert thread.username == "maria" and thread.author_association == "MEMBER" and thread.body == "comment 71"
    assert thread.updated_at > thread.created_at


def test_a_cross_reference_keeps_one_key_when_its_source_issue_changes(github, invoke, app_env, monkeypatch):
    monkeypatch.setenv("TRACKED_EVENTS", "cross-referenced")
    github.new_item("widgets", 1, item_id=11, author=ALICE, created=ago(hours=5))
    reference = cross_referenced(MARIA, ago(hours=2), source_number=77)
    github.timelines[11] = [reference]
    invoke("nrt_events")
    reference["source"]["issue"].update(state="closed", comments=4, updated_at=ago(minutes=1))
    github.items[11]["updated_at"] = ago(minutes=1)
    invoke("nrt_events")
    assert count(app_env, Event) == 1


def test_a_pull_request_score_keeps_its_fraction(session):
    upsert(session, PullRequest, [pull_request_row(a_pull_request(score=0.73))])
    session.commit()
    assert session.get(PullRequest, 8008).score == pytest.approx(0.73)


def test_an_older_pull_request_shape_without_merged_at_does_not_unmerge(session):
    upsert(session, PullRequest, [pull_request_row(a_pull_request("2024-03-03T10:00:00Z"))])
    older = a_pull_request(updated_at="2024-03-04T00:00:00Z")
    del older["pull_request"]["merged_at"]
    upsert(session, PullRequest, [pull_request_row(older)])
    session.commit()
    assert session.get(PullRequest, 8008).merged is True


def test_a_payload_without_updated_at_never_overwrites_one_that_has_it(session):
    upsert(session, Issue, [issue_row(an_issue(title="Current"))])
    upsert(session, Issue, [issue_row(an_issue(title="From a partial payload", updated_at=None))])
    session.commit()
    assert session.get(Issue, 7007).title == "Current"


@pytest.mark.skipif(not RECORDED.is_dir(), reason="the recorded payloads in ../shared are not beside this checkout")
@pytest.mark.parametrize("name", ["timeline_pygithub_pr31_2025.json", "timeline_pygithub_issue28_2017.json"])
def test_recorded_timelines_map_to_one_row_per_event(name):
    events = json.loads((RECORDED / name).read_text())["payloads"]
    mapped = [event_row(event, PARENT) for event in events]
    assert len({row["id"] for row in mapped}) == len(events)
    assert all(row["created_at"] is not None for row in mapped)
    reviewed = [row for row, event in zip(mapped, events, strict=True) if event.get("event") == "reviewed"]
    assert all(row["username"] for row in reviewed)
