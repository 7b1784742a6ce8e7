"""The figures of the second round (first reply, time to close and merge, time in label, who answers, newcomers,
the previous period, the scopes), each pinned on a hand-built history against values computed by hand."""

from datetime import timedelta

import pytest

from chalicelib.db import get_engine
from chalicelib.report import ReportOptions, as_csv, as_table, build_report
from tests.fake import closed, labeled, unlabeled
from tests.helpers import LEO, MARIA, OLIVIA, OSCAR
from tests.history import BASE, at, comment

SINCE, UNTIL = (BASE - timedelta(days=5)).date(), (BASE + timedelta(days=20)).date()
AGE = 240.0  # hours from BASE to now, give or take the hour BASE is rounded to


def report_of(history, db_url, since=SINCE, until=UNTIL, sla=72.0, **options):
    history.session.commit()
    return build_report(get_engine(db_url), since, until, None, sla, ReportOptions(**options))


@pytest.fixture
def answered(history):
    """A: labelled at 1 h, replied at 10 h; B: replied at 2 h; C: only labelled, at 3 h, still open; D: closed
    unanswered at 5 h."""
    history.member(MARIA)
    history.issue(1, OLIVIA, events=[labeled(12, MARIA, at(1), "bug"), comment(13, MARIA, 10, "MEMBER")])
    history.issue(2, OSCAR, events=[comment(21, MARIA, 2, "MEMBER")])
    history.issue(3, OLIVIA, events=[labeled(31, MARIA, at(3), "bug")])
    history.issue(4, OSCAR, closed=at(5))
    return history


def test_first_reply_counts_words_and_first_response_any_action(answered, db_url):
    overall = report_of(answered, db_url).overall
    # Response: 1 h, 2 h, 3 h answered, 5 h censored: S(1) = 3/4, S(2) = 1/2, so the median is 2 h.
    assert (overall.answered, overall.median_hours) == (3, pytest.approx(2.0))
    # Reply: 2 h answered, 5 h censored, 10 h answered (2 at risk), ~240 h censored: S(2) = 3/4, S(10) = 3/8.
    assert (overall.replied, overall.reply_median_hours) == (2, pytest.approx(10.0))
    assert overall.reply_p90_hours is None, "C is still waiting: nine in ten were never replied to"


def test_the_sla_counts_the_first_reply_unless_told_otherwise(answered, db_url):
    by_reply = report_of(answered, db_url)
    assert [(line.number, line.why) for line in by_reply.no_answer_yet] == [(3, "no maintainer reply yet")]
    assert by_reply.overall.waiting == 1 and by_reply.overall.waiting_beyond_sla == 1
    by_response = report_of(answered, db_url, sla_basis="first_response")
    assert by_response.no_answer_yet == [] and by_response.overall.waiting == 0
    assert "SLA 72 h to a first response" in as_table(by_response)


def test_time_to_close_censors_the_open_issues(history, db_url):
    history.issue(1, OLIVIA, closed=at(24))
    history.issue(2, OSCAR, closed=at(48))
    history.issue(3, OLIVIA)
    overall = report_of(history, db_url).overall
    # 24 h and 48 h closed, one open at ~240 h: S(24) = 2/3, S(48) = 1/3, so the median is 48 h.
    assert (overall.issues, overall.issues_closed, overall.close_median_hours) == (3, 2, pytest.approx(48.0))


def test_time_to_merge_counts_a_pr_closed_unmerged_as_never_merged_from_its_close(history, db_url):
    history.pull_request(1, OLIVIA, closed=at(10), merged=at(10))
    history.pull_request(2, OSCAR, closed=at(5))
    history.pull_request(3, OLIVIA)
    overall = report_of(history, db_url).overall
    # 5 h censored, 10 h merged with 2 at risk: S(10) = 1/2.
    assert overall.merge_median_hours == pytest.approx(10.0)
    overall = report_of(history, db_url, since=SINCE, until=UNTIL).overall
    assert (overall.external_prs, overall.external_prs_merged) == (3, 1)


@pytest.fixture
def labelled(history):
    """Three stays in pending-response: 4 h ended by `unlabeled`, 10 h ended by the close, one still on."""
    history.member(MARIA)
    pending = "pending-response"
    history.issue(1, OLIVIA, events=[labeled(11, MARIA, at(1), pending), unlabeled(12, MARIA, at(5), pending)])
    history.issue(2, OSCAR, closed=at(12), labels=[pending], events=[labeled(21, MARIA, at(2), pending)])
    history.issue(3, OLIVIA, labels=[pending], events=[labeled(31, MARIA, at(3), pending)])
    history.issue(4, OSCAR, labels=["bug"], events=[labeled(41, MARIA, at(1), "bug")])
    return history


def test_time_in_label_ends_at_unlabeled_or_close_and_censors_a_stay_still_on(labelled, db_url):
    report = report_of(labelled, db_url)
    [timer] = report.label_timers
    assert timer.label == "pending-response", "bug is not a state label by default"
    # 4 h and 10 h ended, ~237 h still on: S(4) = 2/3, S(10) = 1/3, so the median is 10 h.
    assert (timer.stays.observed, timer.stays.happened, timer.stays.median_hours) == (3, 2, pytest.approx(10.0))
    assert [line.number for line in report.sitting_in_label["pending-response"]] == [3]
    assert report.sitting_in_label["pending-response"][0].hours == pytest.approx(AGE - 3, abs=1.5)


def test_label_timers_names_the_labels_to_time(labelled, db_url):
    [timer] = report_of(labelled, db_url, label_timers=("bug",)).label_timers
    assert timer.label == "bug" and timer.stays.observed == 1 and timer.stays.happened == 0


def test_who_answers_counts_first_replies_per_maintainer(history, db_url):
    history.member(MARIA)
    history.member(LEO)
    history.issue(1, OLIVIA, events=[comment(11, MARIA, 1, "MEMBER"), comment(12, LEO, 2, "MEMBER")])
    history.issue(2, OSCAR, events=[comment(21, MARIA, 3, "MEMBER")])
    history.issue(3, OLIVIA, events=[comment(31, LEO, 1, "MEMBER")])
    assert report_of(history, db_url).responders == [("maria", 2), ("leo", 1)]


def test_newcomers_are_first_items_in_the_period_and_coming_back_is_estimated(history, db_url):
    history.member(MARIA)
    history.issue(1, OLIVIA)
    other = history.issue(2, OSCAR, hours=-24 * 30)
    history.issue(3, OSCAR, hours=10)
    history.events(other, [comment(21, OLIVIA, 24)])
    history.issue(4, LEO, hours=5)
    report = report_of(history, db_url)
    assert report.newcomers.logins == ["leo", "olivia"], "oscar's first item is from before the period"
    # olivia came back at 24 h; leo has not yet, ~235 h on: S(24) = 1/2.
    assert report.newcomers.came_back == 1 and report.newcomers.returned_within_90_days == pytest.approx(0.5)
    assert {line.number for line in report.newcomers_waiting} == {1, 4}


def test_each_headline_stands_beside_the_previous_period(history, db_url):
    history.member(MARIA)
    since = BASE.date()
    history.issue(1, OLIVIA, hours=-24 * 3, events=[comment(11, MARIA, -24 * 3 + 5, "MEMBER")])
    history.issue(2, OSCAR, hours=-24 * 2, events=[comment(21, MARIA, 30, "MEMBER")])
    history.issue(3, OLIVIA, hours=2, events=[comment(31, MARIA, 3, "MEMBER")])
    pr = history.pull_request(4, OSCAR, hours=-24 * 4, closed=at(-24 * 3), merged=at(-24 * 3))
    history.events(pr, [comment(41, MARIA, -24 * 4 + 1, "MEMBER")])
    report = report_of(history, db_url, since=since, until=since + timedelta(days=3))
    assert (report.previous_since, report.previous_until) == (since - timedelta(days=4), since - timedelta(days=1))
    previous = report.overall.previous
    # Before: the PR replied at 1 h, #1 at 5 h, #2 at 78 h (S(5) = 1/3); at its end only #2 still waited.
    assert previous["reply_median_hours"] == pytest.approx(5.0)
    assert (previous["waiting"], previous["waiting_beyond_sla"], previous["external_prs_merged"]) == (1, 0, 1)
    assert report.overall.reply_median_hours == pytest.approx(1.0)
    assert "previous_reply_median_hours" in as_csv(report).splitlines()[0]


def test_without_anything_stored_from_the_previous_period_there_is_no_comparison(history, db_url):
    history.issue(1, OLIVIA)
    assert report_of(history, db_url).overall.previous == {}


def test_kind_label_and_excluded_users_narrow_every_figure(history, db_url):
    history.member(MARIA)
    history.issue(1, OLIVIA, labels=["bug"])
    history.issue(2, OSCAR)
    history.pull_request(3, OLIVIA)
    history.issue(4, LEO, labels=["bug"])
    assert report_of(history, db_url, kind="pr").overall.outsider_items == 1
    assert report_of(history, db_url, kind="issue").overall.outsider_items == 3
    assert [line.number for line in report_of(history, db_url, label="bug").no_answer_yet] == [1, 4]
    excluded = report_of(history, db_url, exclude_users=("Leo", "oscar"))
    assert excluded.overall.outsider_items == 2 and {line.number for line in excluded.waiting_on_us} == {1, 3}
    assert "excluding items by Leo, oscar" in " ".join(as_table(excluded).split())


def test_the_waiting_lists_sort_by_the_newest_sla_breach(history, db_url):
    history.member(MARIA)
    for number, hours in ((1, 0), (2, 100), (3, 200), (4, 230)):
        history.issue(number, OLIVIA, hours=hours)
    # Waiting ~240, ~140, ~40 and ~10 h against a 72 h SLA: the latest breach is #2's, then #1's.
    longest = report_of(history, db_url)
    assert [line.number for line in longest.no_answer_yet] == [1, 2, 3, 4]
    newest = report_of(history, db_url, sort="newest-breach")
    assert [line.number for line in newest.no_answer_yet] == [2, 1, 3, 4]


def test_the_weekly_trend_counts_what_waited_at_each_weeks_end(history, db_url):
    history.member(MARIA)
    history.issue(1, OLIVIA, hours=0, events=[comment(11, MARIA, 24 * 8, "MEMBER")])
    history.issue(2, OSCAR, hours=1, closed=at(5), events=[closed(21, MARIA, at(5))])
    report = report_of(history, db_url, since=BASE.date(), until=(BASE + timedelta(days=9)).date())
    weeks = report.weekly["all repos"]
    first_end = [week for week in weeks if week.week <= BASE.strftime("%Y-%m-%d")][-1]
    assert first_end.waiting_at_end == 1, "#1 waited at the first week's end; #2 was closed"
    assert weeks[-1].waiting_at_end == 0, "#1 had its reply by the last week's end"


def test_every_line_of_every_list_names_its_author_members_included(history, db_url):
    from datetime import UTC, datetime

    from tests.fake import commented

    history.member(MARIA)
    history.issue(1, OLIVIA)
    history.issue(2, MARIA, association="MEMBER", events=[comment(21, OSCAR, 5)])
    recent = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    trending = history.issue(3, OSCAR, events=[comment(31, MARIA, 1, "MEMBER")])
    history.events(trending, [dict(commented(32, OLIVIA, recent), author_association="NONE")])
    history.pull_request(4, OLIVIA)
    report = report_of(history, db_url)
    lists = (report.no_answer_yet, report.outsider_spoke_last, report.trending, report.open_external_prs)
    assert all(lists), "each list has a line"
    assert {line.author for line in report.outsider_spoke_last} == {"maria", "oscar"}, "a member's thread, named"
    assert all(line.author for lines in lists for line in lines)
