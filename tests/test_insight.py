"""The insight views and report, on hand-built histories whose answers are known."""

import json
from datetime import UTC, datetime, timedelta

import pytest

import report as report_command
from chalicelib.entities import issue_row, transfer_row
from chalicelib.models import (
    Transfer,
    create_all,
)
from chalicelib.report import answered_by, kaplan_meier, survival_quantile
from chalicelib.store import upsert
from tests.fake import commented, item, labeled
from tests.helpers import API, LEO, MARIA, OLIVIA, OSCAR, point_db
from tests.history import BASE, BOT, at, comment


def by_id(rows):
    return {row["id"]: row for row in rows}


def test_first_response_counts_only_maintainers_at_that_moment(history):
    history.member(MARIA)
    history.member(LEO, left_at_hours=1)
    history.issue(1, OLIVIA, events=[comment(11, MARIA, 3, "MEMBER")])
    history.issue(2, OLIVIA, events=[comment(21, BOT, 1)])
    history.issue(3, OLIVIA, events=[comment(31, OLIVIA, 2)])
    history.issue(4, OLIVIA)
    history.issue(5, OLIVIA, events=[comment(51, LEO, 5)])
    history.issue(6, MARIA, association="MEMBER", events=[comment(61, OLIVIA, 1)])
    rows = by_id(history.rows("first_response"))
    assert set(rows) == {1, 2, 3, 4, 5}
    assert rows[1]["hours_to_first_response"] == pytest.approx(3.0) and rows[1]["responder"] == "maria"
    for unanswered in (2, 3, 4, 5):
        assert rows[unanswered]["responded_at"] is None
        assert rows[unanswered]["hours_waiting"] == pytest.approx(240, abs=1.5)


def test_a_label_or_a_close_by_a_member_is_a_response(history):
    history.member(MARIA)
    history.issue(1, OLIVIA, events=[labeled(12, MARIA, at(1.5), "bug"), comment(13, MARIA, 4, "MEMBER")])
    assert history.rows("first_response")[0]["hours_to_first_response"] == pytest.approx(1.5)


def test_transferred_issue_keeps_its_history(history):
    history.member(MARIA)
    old = item(API, "acme", "widgets", 7, item_id=7, author=OLIVIA, created=at(0))
    new = history.issue(8, OLIVIA, repo="gadgets", events=[comment(81, MARIA, 2, "MEMBER")])
    upsert(history.session, Transfer, [transfer_row(new, issue_row(old))])
    [row] = history.rows("first_response")
    assert (row["id"], row["repo"]) == (8, "gadgets") and row["hours_to_first_response"] == pytest.approx(2.0)


def test_needs_follow_up_lists_open_items_whose_last_comment_is_an_outsiders(history):
    history.member(MARIA)
    history.issue(
        1, OLIVIA, labels=["pending-response"], events=[comment(11, MARIA, 1, "MEMBER"), comment(12, OSCAR, 30)]
    )
    history.issue(2, OLIVIA, events=[comment(21, OSCAR, 1), comment(22, MARIA, 2, "MEMBER")])
    history.issue(3, OLIVIA, events=[comment(31, OSCAR, 1), comment(32, BOT, 2)])
    history.issue(4, OLIVIA, closed=at(40), events=[comment(41, OSCAR, 1)])
    [row] = history.rows("needs_follow_up")
    assert row["id"] == 1 and row["last_commenter"] == "oscar" and "pending-response" in row["labels"]
    assert row["hours_waiting"] == pytest.approx(240 - 30, abs=1.5)


def test_trending_ranks_open_issues_by_outside_activity_this_week(history):
    recent = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    quiet = history.issue(1, OLIVIA)
    busy = history.issue(2, OLIVIA)
    history.events(
        busy,
        [
            dict(commented(21, OSCAR, recent, heart=3), author_association="NONE"),
            dict(commented(22, OLIVIA, recent), author_association="NONE"),
        ],
    )
    history.events(quiet, [dict(commented(11, OSCAR, recent), author_association="NONE")])
    rows = history.rows("trending", order="rank")
    assert [(r["id"], r["rank"], r["outside_comments"], r["reactions"]) for r in rows] == [(2, 1, 2, 3), (1, 2, 1, 0)]


def test_external_prs_by_repo_and_month(history):
    history.pull_request(1, OLIVIA, closed=at(5), merged=at(5))
    history.pull_request(2, OLIVIA, closed=at(6))
    history.pull_request(3, OSCAR)
    history.member(MARIA)
    history.pull_request(4, MARIA, closed=at(1), merged=at(1))
    [row] = history.rows("external_prs", order="month")
    assert (row["opened"], row["merged"], row["closed_unmerged"], row["still_open"]) == (3, 1, 1, 1)
    assert row["merge_rate"] == pytest.approx(0.5) and row["avg_hours_to_merge"] == pytest.approx(5.0)


def test_kaplan_meier_matches_a_hand_computation():
    curve = kaplan_meier([(1, True), (2, True), (3, True), (2.5, False), (10, False)])
    assert curve == [(1, pytest.approx(0.8)), (2, pytest.approx(0.6)), (3, pytest.approx(0.3))]
    assert survival_quantile(curve, 0.5) == 3
    assert survival_quantile(curve, 0.9) is None
    assert answered_by(curve, 2.5) == pytest.approx(0.4)


def test_waiting_items_pull_the_median_up_unlike_an_average_of_the_answered():
    curve = kaplan_meier([(1, True)] + [(100, False)] * 3)
    assert survival_quantile(curve, 0.5) is None


def test_report_headlines_per_repo_and_overall(history, db_url, monkeypatch, capsys):
    history.member(MARIA)
    history.issue(1, OLIVIA, events=[comment(11, MARIA, 3, "MEMBER")])
    history.issue(2, OLIVIA)
    history.issue(3, OSCAR, repo="gadgets", events=[comment(31, MARIA, 100, "MEMBER")])
    history.session.commit()
    point_db(monkeypatch, db_url)
    since = (BASE - timedelta(days=1)).date().isoformat()
    assert report_command.main(["--since", since, "--format", "json", "--sla", "3d"]) == 0
    data = json.loads(capsys.readouterr().out)
    overall = data["headlines"][-1]
    assert overall["scope"] == "all repos" and overall["outsider_items"] == 3 and overall["answered"] == 2
    assert overall["median_hours"] == pytest.approx(100.0)
    assert overall["waiting_beyond_sla"] == 1
    widgets = next(h for h in data["headlines"] if h["scope"] == "widgets")
    assert widgets["median_hours"] == pytest.approx(3.0) and widgets["answered_within_sla"] == pytest.approx(0.5)
    assert widgets["p90_hours"] is None


def test_html_report_is_one_file_with_its_charts(history, db_url, monkeypatch, tmp_path):
    history.member(MARIA)
    history.issue(1, OLIVIA, events=[comment(11, MARIA, 3, "MEMBER")])
    history.issue(3, OSCAR)
    history.pull_request(2, OSCAR, closed=at(5), merged=at(5))
    history.session.commit()
    point_db(monkeypatch, db_url)
    output = tmp_path / "report.html"
    since = (BASE - timedelta(days=1)).date().isoformat()
    assert report_command.main(["--since", since, "--format", "html", "--output", str(output)]) == 0
    page = output.read_text()
    assert page.count('<figure class="chart"') == 5
    for title in (
        "Median time to a first reply and to a first response, by week opened",
        "Items waiting on us at each week&#x27;s end, and external PRs merged each week",
        "Open items with no maintainer reply yet, whenever opened, by how long they have waited",
        "External pull requests by month opened",
        "Who gave the first replies to the period&#x27;s items",
    ):
        assert title in page
    assert "<script" not in page and "<link" not in page and "src=" not in page
    assert "No maintainer reply yet (1)" in page and "href='https://github.com/acme/widgets/issues/3'" in page


def test_empty_database_gives_a_clear_message(db_url, monkeypatch, capsys):
    create_all(db_url)
    point_db(monkeypatch, db_url)
    assert report_command.main(["--format", "table"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Nothing to report" in captured.err and "backfill.py" in captured.err


def test_a_median_never_reached_is_drawn_as_an_outline_not_as_zero():
    from chalicelib.report import Report
    from chalicelib.report.charts import weekly_median_chart
    from chalicelib.report.figures import Week

    weeks = [Week("2026-11-02", 12.0, 12.0, 0, 0), Week("2026-11-09", None, 3.0, 1, 0)]
    chart = weekly_median_chart(Report(BASE.date(), BASE.date(), 72, weekly={"all repos": weeks}))
    assert "weekly-median-unreached-0-1" in chart and "not" in chart and "reached" in chart
    assert "weekly-median-mark-0" in chart and "12.0 h" in chart
