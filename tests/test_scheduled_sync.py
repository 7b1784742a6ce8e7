"""every_30_min and daily, invoked as EventBridge would, against the fake GitHub and a real database."""

import pytest
from sqlalchemy import select

from chalicelib.db import create_db_session
from chalicelib.models import Event, EventPoll, Issue, JobRun, Member, PullRequest, Transfer
from chalicelib.runner import JobFailed
from tests.helpers import ALICE, BOB, CAROL, ago, closed_pull_requests, count, fetch


def test_new_issue_and_pull_request_are_stored(github, invoke, app_env):
    github.new_item("widgets", 1, item_id=11, author=ALICE, created=ago(days=1))
    github.new_item("gadgets", 2, item_id=12, author=BOB, created=ago(hours=3), pr=True)
    invoke("every_30_min")
    assert fetch(app_env, Issue, 11).repo == "widgets"
    stored_pr = fetch(app_env, PullRequest, 12)
    assert stored_pr.repo == "gadgets" and stored_pr.merged is False and stored_pr.username == "bob"


def test_quiet_run_takes_a_handful_of_requests(github, invoke):
    github.members = [ALICE]
    invoke("every_30_min")
    before = sum(github.requests.values())
    invoke("every_30_min")
    assert sum(github.requests.values()) - before == 3  # the org's repo listing, one search, one members page


def test_an_issue_closed_since_the_last_run_is_updated(github, invoke, app_env):
    issue = github.new_item("widgets", 1, item_id=11, author=ALICE, created=ago(days=2))
    invoke("every_30_min")
    issue.update(state="closed", closed_at=ago(minutes=5), updated_at=ago(minutes=5), state_reason="completed")
    invoke("every_30_min")
    stored = fetch(app_env, Issue, 11)
    assert stored.state == "closed" and stored.state_reason == "completed" and stored.closed_at is not None


def test_pull_requests_closed_merged_and_unmerged(github, invoke, app_env):
    github.new_item("widgets", 3, item_id=13, author=ALICE, created=ago(weeks=20), closed=ago(weeks=10), pr=True)
    github.new_item(
        "widgets",
        4,
        item_id=14,
        author=ALICE,
        created=ago(weeks=20),
        closed=ago(weeks=10),
        pr=True,
        merged=ago(weeks=10),
    )
    github.new_item("widgets", 5, item_id=15, author=ALICE, created=ago(days=1), pr=True)
    invoke("every_30_min")
    assert fetch(app_env, PullRequest, 13).merged is False
    assert fetch(app_env, PullRequest, 14).merged is True
    assert fetch(app_env, PullRequest, 15).merged is False


def test_member_who_leaves_is_inactive_and_one_who_returns_is_active(github, invoke, app_env):
    github.members = [ALICE, BOB]
    invoke("every_30_min")
    github.members = [ALICE]
    invoke("every_30_min")
    left = fetch(app_env, Member, 502)
    assert left.inactive is True and left.inactive_dt is not None
    github.members = [ALICE, BOB]
    invoke("every_30_min")
    back = fetch(app_env, Member, 502)
    assert back.inactive is False and back.inactive_dt is None
    assert count(app_env, Member) == 2


def test_empty_member_list_does_not_deactivate_everyone(github, invoke, app_env):
    github.members = [ALICE]
    invoke("every_30_min")
    github.members = []
    invoke("every_30_min")
    assert fetch(app_env, Member, 501).inactive is False


@pytest.mark.parametrize("by_id", [False, True], ids=["location-by-name", "location-by-repository-id"])
def test_transferred_issue_with_new_issue_stored(github, invoke, app_env, by_id):
    old = github.new_item("widgets", 6, item_id=16, author=CAROL, created=ago(days=2), labels=["bug"])
    invoke("every_30_min")
    github.transfer(old, "gadgets", 40, new_id=1640, by_id=by_id)
    invoke("every_30_min")
    transfer = fetch(app_env, Transfer, (16, 1640))
    assert transfer is not None and (transfer.repo, transfer.new_repo, transfer.new_number) == (
        "widgets",
        "gadgets",
        40,
    )
    assert transfer.username == "carol" and transfer.labels[0]["name"] == "bug"
    assert fetch(app_env, Issue, 16) is None and fetch(app_env, Issue, 1640) is not None
    invoke("every_30_min")
    assert count(app_env, Transfer) == 1


def test_transfer_waits_while_the_new_issue_is_not_stored(github, invoke, app_env, monkeypatch):
    old = github.new_item("widgets", 6, item_id=16, author=CAROL, created=ago(days=2))
    twin = github.new_item("gadgets", 9, item_id=19, author=CAROL, created=old["created_at"])
    invoke("every_30_min")
    github.moved[old["url"]] = f"{github.api}/repos/acme/elsewhere/issues/1"
    github.moved_targets[f"{github.api}/repos/acme/elsewhere/issues/1"] = 777
    github.add(
        dict(
            old,
            id=777,
            repository_url=f"{github.api}/repos/acme/elsewhere",
            url=f"{github.api}/repos/acme/elsewhere/issues/1",
        )
    )
    invoke("every_30_min")
    assert fetch(app_env, Issue, 16) is not None and count(app_env, Transfer) == 0
    assert fetch(app_env, Issue, twin["id"]) is not None


def test_look_alike_issues_that_were_not_transferred_are_asked_about_once(github, invoke):
    first = github.new_item("widgets", 6, item_id=16, author=CAROL, created=ago(days=2))
    github.new_item("gadgets", 9, item_id=19, author=CAROL, created=first["created_at"])
    invoke("every_30_min")
    asked = [line for line in github.log if "/issues/6?" in line or "/issues/9?" in line]
    invoke("every_30_min")
    asked_again = [line for line in github.log if "/issues/6?" in line or "/issues/9?" in line]
    assert len(asked) == 2 and asked_again == asked


def test_first_run_sees_more_than_a_thousand_closed_pull_requests(github, invoke, app_env):
    closed_pull_requests(github, 1200, merged_every=3)
    invoke("every_30_min")
    assert count(app_env, PullRequest) == 1200
    assert count(app_env, PullRequest, PullRequest.merged.is_(True)) == 800


def test_server_error_mid_run_fails_cleanly_and_the_next_run_catches_up(github, invoke, app_env):
    github.new_item("widgets", 1, item_id=11, author=ALICE, created=ago(days=1))
    github.members = [ALICE]
    for _ in range(6):
        github.fail_next("/orgs/acme/members", 502)
    with pytest.raises(JobFailed, match="502"):
        invoke("every_30_min")
    assert fetch(app_env, Issue, 11) is not None
    invoke("every_30_min")
    assert count(app_env, Issue) == 1 and count(app_env, Member) == 1
    session = create_db_session(app_env)
    statuses = session.scalars(select(JobRun.status).order_by(JobRun.id)).all()
    session.close()
    assert statuses == ["failed", "ok"]


def test_running_twice_changes_nothing_the_second_time(github, invoke, app_env):
    github.members = [ALICE]
    github.new_item("widgets", 1, item_id=11, author=ALICE, created=ago(days=1))
    github.new_item("widgets", 2, item_id=12, author=None, created=ago(days=1), pr=True)
    invoke("every_30_min")
    invoke("daily")
    session = create_db_session(app_env)
    runs = session.scalars(select(JobRun).order_by(JobRun.id)).all()
    session.close()
    invoke("every_30_min")
    invoke("daily")
    session = create_db_session(app_env)
    second = session.scalars(select(JobRun).order_by(JobRun.id)).all()[len(runs) :]
    session.close()
    for run in second:
        assert all(c["inserted"] == 0 and c["updated"] == 0 for c in run.counts["tables"].values()), run.counts


def test_unknown_fields_and_deleted_author_are_kept(github, invoke, app_env):
    payload = github.new_item("widgets", 1, item_id=11, author=None, created=ago(days=1))
    payload["brand_new_field"] = {"nested": [1, 2]}
    invoke("every_30_min")
    stored = fetch(app_env, Issue, 11)
    assert stored.username is None and stored.extra["brand_new_field"] == {"nested": [1, 2]}


def test_daily_corrects_merged_state_and_reports_per_repo(github, invoke, app_env):
    pr = github.new_item("widgets", 3, item_id=13, author=ALICE, created=ago(weeks=100), pr=True)
    invoke("every_30_min")
    pr.update(state="closed", closed_at=ago(weeks=99), pull_request={**pr["pull_request"], "merged_at": ago(weeks=99)})
    invoke("daily")
    assert fetch(app_env, PullRequest, 13).merged is True
    session = create_db_session(app_env)
    run = session.scalars(select(JobRun).where(JobRun.job == "daily")).one()
    session.close()
    line = run.counts["repos"]["org:acme archived:false"]
    assert line["github"] == 1 and line["stored"] == 1


def test_daily_removes_items_deleted_on_github_with_their_events(github, invoke, app_env):
    kept = github.new_item("widgets", 1, item_id=11, author=ALICE, created=ago(weeks=60))
    doomed = github.new_item("widgets", 2, item_id=12, author=ALICE, created=ago(weeks=60))
    session = create_db_session(app_env)
    from chalicelib.entities import issue_row
    from chalicelib.models import create_all
    from chalicelib.store import upsert

    create_all(app_env)
    upsert(session, Issue, [issue_row(kept), issue_row(doomed)])
    session.add(Event(id=1, issue_id=12, event="commented"))
    session.add(EventPoll(id=12, page_no=1, etag="x"))
    session.commit()
    session.close()
    github.delete(doomed)
    invoke("daily")
    assert fetch(app_env, Issue, 11) is not None and fetch(app_env, Issue, 12) is None
    assert count(app_env, Event) == 0 and count(app_env, EventPoll) == 0


def test_an_org_with_more_repos_than_one_org_query_searches_is_searched_by_repo_lists(
    github, invoke, app_env, monkeypatch
):
    monkeypatch.setattr("chalicelib.search.ORG_SEARCH_REPO_LIMIT", 3)
    monkeypatch.setenv("GITHUB_REPOS", "*")
    github.repos = [{"name": f"repo-{n}", "archived": False} for n in range(5)]
    github.new_item("repo-4", 1, item_id=11, author=ALICE, created=ago(days=1))
    invoke("every_30_min")
    assert fetch(app_env, Issue, 11) is not None, "the fifth repo is searched too, not cut"
    searches = [line for line in github.log if line.startswith("GET /search/issues")]
    assert searches and not any("org%3Aacme" in line for line in searches)
    assert all(f"repo%3Aacme%2Frepo-{n}" in " ".join(searches) for n in range(5))


def test_star_syncs_every_non_archived_repo_with_one_org_query(github, invoke, app_env, monkeypatch):
    monkeypatch.setenv("GITHUB_REPOS", "*")
    github.repos = [{"name": "widgets", "archived": False}, {"name": "attic", "archived": True}]
    github.new_item("widgets", 1, item_id=11, author=ALICE, created=ago(days=1))
    github.new_item("attic", 2, item_id=12, author=ALICE, created=ago(days=1))
    invoke("every_30_min")
    assert fetch(app_env, Issue, 11) is not None and fetch(app_env, Issue, 12) is None
    searches = [line for line in github.log if line.startswith("GET /search/issues")]
    assert searches and all("org%3Aacme" in line and "repo%3A" not in line for line in searches)
