"""Every stored item gets its timeline read, by nrt_events alone, within the budget it has left."""

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.db import create_db_session
from chalicelib.models import Event, JobRun, SyncState, TimelineRead
from chalicelib.state import CHANGES
from tests.fake import commented
from tests.helpers import ALICE, MARIA, ago, count, fetch, rows


def backfilled(github, invoke, numbers, hidden_comment: bool = False):
    """Items stored by every_30_min (no timelines), each with one comment on GitHub (and with `hidden_comment`, a
    second one the comments listing does not show)."""
    for number in numbers:
        github.new_item("widgets", number, item_id=number, author=ALICE, created=ago(days=3, hours=number), comments=1)
        github.timelines[number] = [commented(1000 + number, MARIA, ago(days=2))]
        if hidden_comment:
            github.timelines[number].append(commented(1100 + number, MARIA, ago(days=2)))
            github.items[number]["comments"] = 2
            github.hidden_from_listings.add(1100 + number)
    invoke("every_30_min")
    for number in numbers:
        github.items[number]["updated_at"] = ago(days=3)


@pytest.fixture
def per_item(monkeypatch):
    """Events per item (`EVENTS_SOURCE=timelines`): never-read items are read one timeline each."""
    monkeypatch.setenv("EVENTS_SOURCE", "timelines")


def listing_requests(github) -> list[str]:
    return [line for line in github.log if "/issues/events" in line or "/issues/comments" in line]


def test_never_read_items_are_read_through_the_listings_not_a_timeline_each(github, invoke, app_env):
    backfilled(github, invoke, range(1, 6))
    invoke("nrt_events")
    assert count(app_env, TimelineRead, TimelineRead.outcome == "read") == 5
    assert count(app_env, Event) == 5
    assert not [line for line in github.log if "/timeline" in line]
    assert rows(app_env, JobRun)[-1].counts["never_read_timelines_asked"] == 0


def test_a_repos_listings_are_walked_back_for_never_read_items_once(github, invoke, app_env):
    backfilled(github, invoke, [1], hidden_comment=True)
    github.core_remaining = 1003  # nothing spare for timelines: the item stays unread
    invoke("nrt_events")
    assert fetch(app_env, TimelineRead, 1) is None
    walks = len(listing_requests(github))
    invoke("nrt_events")
    day_ago = datetime.now(UTC) - timedelta(days=1, hours=1)
    deep = [line for line in listing_requests(github)[walks:] if "since=" in line and listed_since(line) < day_ago]
    assert deep == [], "the second run reads only what changed since the first"


def listed_since(request_line: str) -> datetime:
    since = parse_qs(urlsplit(request_line.split(" ", 1)[1]).query)["since"][0]
    return datetime.fromisoformat(since.replace("Z", "+00:00"))


def test_never_read_timelines_are_read_by_nrt_events_alone(github, invoke, app_env, per_item):
    backfilled(github, invoke, range(1, 6))
    invoke("nrt_events")
    assert count(app_env, TimelineRead, TimelineRead.outcome == "read") == 5
    assert count(app_env, Event) == 5
    assert rows(app_env, JobRun)[-1].counts["never_read_timelines_asked"] == 5


def test_never_read_timelines_use_only_the_spare_budget_newest_first(github, invoke, app_env, per_item):
    backfilled(github, invoke, range(1, 6))
    # Two above the 1,000 kept back (the org's repo listing answers 304, which is not counted).
    github.core_remaining = 1002
    invoke("nrt_events")
    assert {row.item_id for row in rows(app_env, TimelineRead)} == {1, 2}, "the two newest"


def test_after_a_three_day_outage_the_next_run_covers_the_three_days(github, invoke, app_env):
    issue = github.new_item("widgets", 1, item_id=11, author=ALICE, created=ago(days=4))
    github.timelines[11] = [commented(901, ALICE, ago(days=4))]
    invoke("nrt_events")
    session = create_db_session(app_env)
    session.get(SyncState, CHANGES.name).value = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=3)
    session.commit()
    session.close()
    github.timelines[11].append(commented(902, MARIA, ago(days=2, hours=12)))
    issue["updated_at"] = ago(days=2, hours=12)
    invoke("nrt_events")
    assert fetch(app_env, Event, (902, 11)) is not None


def test_a_timeline_that_is_gone_is_not_asked_again_every_run(github, invoke, app_env, per_item):
    backfilled(github, invoke, [1])
    github.fail_next("/issues/1/timeline", 410)
    invoke("nrt_events")
    asked = sum("/issues/1/timeline" in line for line in github.log)
    invoke("nrt_events")
    assert sum("/issues/1/timeline" in line for line in github.log) == asked
    assert fetch(app_env, TimelineRead, 1).outcome == "gone"


def test_after_a_plain_backfill_nrt_events_alone_makes_the_report_true(github, invoke, app_env, slept, capsys):
    import backfill
    import report

    github.members = [MARIA]
    response_hours = [7, 1, 30, 2, 12, 5, 48, 3, 20, 9, 4, 60]
    for number, hours in enumerate(response_hours, start=1):
        created = datetime.now(UTC) - timedelta(days=3 + number)
        github.new_item("widgets", number, item_id=number, author=ALICE, created=f"{created:%Y-%m-%dT%H:%M:%SZ}")
        answer = created + timedelta(hours=hours)
        github.timelines[number] = [commented(2000 + number, MARIA, f"{answer:%Y-%m-%dT%H:%M:%SZ}")]
    assert backfill.main(["--since", "30d", "--repos", "widgets"]) == 0
    before = json.loads(run_report(report, capsys))
    assert before["coverage"] == "timelines read for 0 of 12 outsider items; 12 not yet"
    for _ in range(3):
        invoke("nrt_events")
    after = json.loads(run_report(report, capsys))
    overall = after["headlines"][-1]
    assert after["coverage"] == "timelines read for 12 of 12 outsider items"
    # Every item answered: the Kaplan-Meier median is the 6th shortest of the 12 response times.
    assert overall["median_hours"] == pytest.approx(sorted(response_hours)[5])
    assert overall["answered"] == 12


def run_report(report, capsys) -> str:
    capsys.readouterr()
    report.main(["--since", "30d"])
    return capsys.readouterr().out
