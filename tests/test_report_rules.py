"""Each rule of the report pinned on a hand-built history whose right answer is known."""

import json
from datetime import timedelta

import pytest

import report as report_command
from chalicelib.db import get_engine
from chalicelib.models import JobRun, create_all
from chalicelib.report import as_csv, as_table, build_report
from tests.helpers import MARIA, OLIVIA, OSCAR, point_db
from tests.history import BASE, History, at, comment

SINCE, UNTIL = (BASE - timedelta(days=30)).date(), (BASE + timedelta(days=20)).date()


def report_of(db_url, history, since=SINCE, until=UNTIL, repos=None, sla=72.0):
    history.session.commit()
    return build_report(get_engine(db_url), since, until, repos, sla)


def test_items_whose_timeline_was_never_read_are_counted_apart(history, db_url):
    history.member(MARIA)
    history.issue(1, OLIVIA, events=[comment(11, MARIA, 3, "MEMBER")])
    history.issue(2, OLIVIA, read=False)
    overall = report_of(db_url, history).overall
    assert (overall.outsider_items, overall.timelines_read, overall.answered) == (2, 1, 1)
    assert overall.median_hours == pytest.approx(3.0)
    assert "only 50% of timelines read" in overall.flags
    assert report_of(db_url, history).coverage_line() == "timelines read for 1 of 2 outsider items; 1 not yet"


def test_without_members_first_response_figures_are_refused(db_url):
    history = History(db_url, members_synced=False)
    history.issue(1, OLIVIA, events=[comment(11, MARIA, 3, "MEMBER")])
    report = report_of(db_url, history)
    assert report.overall.answered is None and report.overall.median_hours is None
    assert any("members were never synced" in note for note in report.notes)
    assert "Members: never synced" in as_table(report)
    history.session.close()


def test_an_item_closed_unanswered_stopped_waiting_when_it_closed(history, db_url):
    history.member(MARIA)
    history.issue(1, OLIVIA, events=[comment(11, MARIA, 5, "MEMBER")])
    history.issue(2, OSCAR, closed=at(2))
    history.issue(3, OLIVIA, events=[comment(31, MARIA, 100, "MEMBER")])
    overall = report_of(db_url, history).overall
    # Censored at 2 h: S(5) = 1/2, S(100) = 0, so the median is 5 h (censored now, it would be 100 h).
    assert overall.median_hours == pytest.approx(5.0) and overall.p90_hours == pytest.approx(100.0)


def test_the_period_printed_is_the_period_of_the_data(history, db_url):
    history.issue(1, OLIVIA, hours=0)
    history.issue(2, OLIVIA, hours=48)
    report = report_of(db_url, history, since=(BASE - timedelta(days=300)).date())
    assert (report.since, report.until) == (BASE.date(), (BASE + timedelta(hours=48)).date())
    assert as_table(report).startswith(f"Outside contributors, items created {BASE.date()} to")


def test_external_pr_outcomes_count_only_prs_created_in_the_period(history, db_url):
    history.pull_request(1, OLIVIA, hours=-30, closed=at(-20), merged=at(-20))
    history.pull_request(2, OLIVIA, hours=5, closed=at(6), merged=at(6))
    history.pull_request(3, OSCAR, hours=7, closed=at(9))
    overall = report_of(db_url, history, since=BASE.date()).overall
    assert (overall.external_prs, overall.external_prs_merged, overall.external_prs_closed_unmerged) == (2, 1, 1)


def test_small_samples_are_flagged(history, db_url):
    history.member(MARIA)
    history.issue(1, OLIVIA, events=[comment(11, MARIA, 3, "MEMBER")])
    history.pull_request(2, OSCAR, closed=at(6), merged=at(6))
    overall = report_of(db_url, history).overall
    assert "median from 2 items" in overall.flags and "merge rate from 1 PRs" in overall.flags  # the PR is an item too


def test_waiting_on_us_lists_unanswered_and_follow_up_items_oldest_first(history, db_url):
    history.member(MARIA)
    history.issue(1, OLIVIA, hours=0, labels=["bug"])
    history.issue(2, OSCAR, hours=24, events=[comment(21, MARIA, 25, "MEMBER"), comment(22, OSCAR, 30)])
    history.issue(3, OLIVIA, hours=48, events=[comment(31, MARIA, 49, "MEMBER")])
    history.issue(4, OLIVIA, hours=200)
    report = report_of(db_url, history, sla=100)
    assert [(line.number, line.why) for line in report.waiting_on_us] == [
        (1, "no maintainer reply yet"),
        (2, "oscar commented last"),
        (4, "no maintainer reply yet"),
    ]
    assert [line.number for line in report.no_answer_yet] == [1, 4]
    assert [(line.number, line.author) for line in report.outsider_spoke_last] == [(2, "oscar")]
    assert report.waiting_on_us[0].url == "https://github.com/acme/widgets/issues/1"
    assert report.waiting_on_us[0].labels == "bug" and report.waiting_on_us[0].author == "olivia"
    assert [line.number for line in report.beyond_sla] == [1]


def test_an_item_opened_before_the_period_is_listed_as_waiting_but_not_counted_in_it(history, db_url):
    history.member(MARIA)
    history.issue(1, OLIVIA, hours=0)
    history.issue(2, OSCAR, hours=-24 * 60)
    report = report_of(db_url, history)
    assert report.overall.outsider_items == 1
    assert [line.number for line in report.waiting_on_us] == [2, 1]


def test_only_the_repos_asked_for_are_counted_and_listed(history, db_url):
    history.member(MARIA)
    history.issue(1, OLIVIA, hours=0)
    history.issue(2, OSCAR, hours=10, repo="gadgets")
    report = report_of(db_url, history, repos=["gadgets"])
    assert [h.scope for h in report.headlines] == ["gadgets", "all repos"] and report.overall.outsider_items == 1
    assert [(line.repo, line.number) for line in report.waiting_on_us] == [("gadgets", 2)]


def test_data_as_of_names_each_jobs_last_success(history, db_url):
    history.issue(1, OLIVIA)
    history.session.add(JobRun(job="nrt_events", status="ok", started_at=BASE, finished_at=BASE))
    history.session.add(JobRun(job="nrt_events", status="failed", started_at=BASE, finished_at=BASE + timedelta(1)))
    report = report_of(db_url, history)
    assert report.data_as_of["nrt_events"] == BASE.replace(tzinfo=None)
    assert f"Data as of: nrt_events {BASE:%Y-%m-%d %H:%M} UTC" in as_table(report)


def test_the_table_fits_100_columns_and_the_csv_is_rounded(history, db_url):
    history.member(MARIA)
    for number in range(1, 12):
        history.issue(
            number,
            OLIVIA,
            repo="a-repository-with-a-very-long-name",
            hours=number,
            title="A title " * 30,
            events=[comment(100 + number, MARIA, number + 1 / 3, "MEMBER")],
        )
    report = report_of(db_url, history)
    assert max(len(line) for line in as_table(report).splitlines()) <= 100
    header, *_, last = [line.split(",") for line in as_csv(report).splitlines()]
    overall = dict(zip(header, last, strict=True))
    assert overall["reply_median_hours"] == "0.3" and overall["answered_within_sla_pct"] == "100"
    assert overall["coverage"] == "timelines read for 11 of 11 outsider items"


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--since", "2001-01-01", "--until", "2001-02-01"], "no issues or pull requests by outside contributors"),
        (["--repos", "nothing-here"], "no stored items in nothing-here"),
    ],
)
def test_a_report_with_nothing_in_it_says_why_in_one_line(history, db_url, monkeypatch, capsys, arguments, message):
    history.issue(1, OLIVIA)
    history.session.commit()
    point_db(monkeypatch, db_url)
    assert report_command.main([*arguments, "--format", "table"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_an_empty_html_report_still_writes_a_page_that_says_why(db_url, monkeypatch, tmp_path):
    create_all(db_url)
    point_db(monkeypatch, db_url)
    output = tmp_path / "empty.html"
    assert report_command.main(["--format", "html", "--output", str(output)]) == 2
    assert "Nothing to report: the database has no issues or pull requests yet" in output.read_text()


def test_an_unwritable_output_path_is_one_line(history, db_url, monkeypatch, capsys, tmp_path):
    history.issue(1, OLIVIA)
    history.session.commit()
    point_db(monkeypatch, db_url)
    assert report_command.main(["--format", "csv", "--output", str(tmp_path / "missing" / "r.csv")]) == 2
    assert capsys.readouterr().err.startswith("error: cannot write")


def test_an_unreachable_database_is_an_environment_error(monkeypatch, capsys):
    point_db(monkeypatch, "postgresql://u:secret@127.0.0.1:1/x")
    assert report_command.main([]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: database error at") and "secret" not in err


def test_json_goes_to_stdout_by_default(history, db_url, monkeypatch, capsys):
    history.issue(1, OLIVIA)
    history.session.commit()
    point_db(monkeypatch, db_url)
    assert report_command.main(["--since", SINCE.isoformat()]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (
        data["coverage"] == "timelines read for 1 of 1 outsider items" and data["headlines"][-1]["scope"] == "all repos"
    )


def test_a_title_cannot_send_escape_sequences_to_the_terminal(history, db_url):
    history.member(MARIA)
    hostile = "\x1b]0;owned\x07\x1b[2J\x1b[1;1HAll good here\rFake line\u202eXYZ"
    history.issue(1, OLIVIA, title=hostile)
    table = as_table(report_of(db_url, history))
    assert not any(character in table for character in ("\x1b", "\x07", "\r", "\u202e"))
    assert "\\x1b]0;owned\\x07\\x1b[2J" in table and "\\x0dFake line\\u202eXYZ" in table


def test_an_item_url_is_never_cut_however_long(history, db_url):
    history.member(MARIA)
    long_repo = "a-repository-whose-name-alone-takes-most-of-a-line-" + "x" * 40
    history.issue(307, OLIVIA, repo=long_repo)
    table = as_table(report_of(db_url, history))
    assert f"https://github.com/acme/{long_repo}/issues/307" in table


def thirty_waiting(history):
    """30 outsider issues nobody answered, the oldest waiting longest."""
    history.member(MARIA)
    for number in range(1, 31):
        history.issue(number, OLIVIA, hours=-number, title=f"Waiting {number}")


def test_a_list_longer_than_the_page_shows_says_how_many_wait_and_how_many_it_shows(history, db_url):
    thirty_waiting(history)
    report = report_of(db_url, history)
    assert len(report.waiting_on_us) == 30, "the report holds every item, not the page's 25"
    table = as_table(report)
    assert "No maintainer reply yet (30, 25 shown):" in table
    assert "... and 5 more: python report.py --list no-answer" in table
    assert "Waiting 30" in table and "Waiting 5\n" not in table


def test_the_whole_list_exports_as_csv_and_json(history, db_url, monkeypatch, capsys):
    thirty_waiting(history)
    history.session.commit()
    point_db(monkeypatch, db_url)
    since = ["--since", SINCE.isoformat(), "--until", UNTIL.isoformat()]
    assert report_command.main([*since, "--list", "waiting", "--format", "csv"]) == 0
    rows = capsys.readouterr().out.strip().splitlines()
    assert rows[0] == "repo,number,title,url,author,hours,labels,why" and len(rows) == 31
    assert report_command.main([*since, "--list", "waiting", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 30
    assert report_command.main([*since, "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["waiting_on_us"]) == 30


def test_the_page_counts_every_item_and_shows_25(history, db_url):
    from chalicelib.report import as_html

    thirty_waiting(history)
    page = as_html(report_of(db_url, history))
    assert "No maintainer reply yet (30, 25 shown)" in page
    assert "Waiting 30<" in page and "Waiting 6<" in page and "Waiting 5<" not in page


def test_open_items_from_before_the_period_never_read_are_counted_apart_from_the_lists(history, db_url):
    history.member(MARIA)
    history.issue(1, OLIVIA)
    history.issue(2, OSCAR, hours=-24 * 60, read=False)
    history.issue(3, OSCAR, hours=-24 * 90, read=False)
    report = report_of(db_url, history, since=BASE.date())
    assert report.coverage_line() == "timelines read for 1 of 1 outsider items"
    assert report.open_unread_before == 2
    assert "Waiting lists: 2 open items opened before the period have no timeline read yet" in as_table(report)


def test_beyond_sla_is_one_number_wherever_it_appears(history, db_url):
    history.member(MARIA)
    history.issue(1, OLIVIA, hours=-100)
    history.issue(2, OSCAR, hours=-24 * 60)
    history.issue(3, OLIVIA, repo="gadgets", hours=-10, events=[comment(31, MARIA, 1, "MEMBER")])
    report = report_of(db_url, history, since=(BASE - timedelta(days=10)).date(), sla=72.0)
    listed = {line.number for line in report.beyond_sla}
    assert listed == {1, 2}, "both wait beyond the SLA, the one opened before the period too"
    per_repo = {h.scope: h.waiting_beyond_sla for h in report.headlines}
    assert per_repo == {"gadgets": 0, "widgets": 2, "all repos": 2} or per_repo == {
        "widgets": 2,
        "all repos": 2,
        "gadgets": 0,
    }
    assert sum(report.backlog_by_age.values()) == 2, "the chart counts the same unanswered items"
    table = as_table(report)
    assert "Beyond SLA (2):" in table and "waiting longer than the SLA (the >SLA column counts them)" in " ".join(
        table.split()
    )
