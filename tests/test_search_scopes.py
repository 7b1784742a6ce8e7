"""Which searches cover the tracked repos: one `org:` query where it finds just them (archived repos left out by
`archived:false`, a few untracked ones by `-repo:`), packed `repo:` lists where they are few of a larger org; and
daily's completeness check costs two searches per consistent scope, not per repo."""

from chalicelib.models import Issue
from tests.helpers import ALICE, ago, count, fetch


def searched(github) -> list[str]:
    return [line for line in github.log if line.startswith("GET /search/issues")]


def tools(n: int) -> list[dict]:
    return [{"name": f"tool-{k}", "archived": False} for k in range(n)]


def test_tracking_every_repo_of_the_org_is_one_org_query_without_archived_repos(github, invoke, app_env):
    github.repos.append({"name": "attic", "archived": True})
    github.new_item("attic", 1, item_id=11, author=ALICE, created=ago(days=1))
    github.new_item("widgets", 2, item_id=12, author=ALICE, created=ago(days=1))
    invoke("every_30_min")
    before = github.requests["search"]
    invoke("every_30_min")
    assert github.requests["search"] - before == 1
    assert all("q=org%3Aacme+archived%3Afalse+" in line and "repo%3A" not in line for line in searched(github))
    assert fetch(app_env, Issue, 12) is not None and fetch(app_env, Issue, 11) is None


def test_most_repos_of_an_org_are_one_org_query_that_names_the_rest(github, invoke, app_env, monkeypatch):
    github.repos += tools(3)
    monkeypatch.setenv("GITHUB_REPOS", "widgets,gadgets,tool-0")
    github.new_item("tool-0", 1, item_id=11, author=ALICE, created=ago(days=1))
    github.new_item("tool-2", 2, item_id=12, author=ALICE, created=ago(days=1))
    invoke("every_30_min")
    assert all(
        "org%3Aacme+archived%3Afalse+-repo%3Aacme%2Ftool-1+-repo%3Aacme%2Ftool-2" in line for line in searched(github)
    )
    assert fetch(app_env, Issue, 11) is not None and fetch(app_env, Issue, 12) is None


def test_a_few_repos_of_a_larger_org_are_packed_repo_lists(github, invoke, app_env):
    github.repos += tools(30)
    github.new_item("gadgets", 1, item_id=11, author=ALICE, created=ago(days=1))
    invoke("every_30_min")
    assert all("q=repo%3Aacme%2Fwidgets+repo%3Aacme%2Fgadgets+" in line for line in searched(github))
    assert fetch(app_env, Issue, 11) is not None


def test_a_tracked_archived_repo_is_kept_by_naming_the_untracked_ones(github, invoke, app_env, monkeypatch):
    github.repos.append({"name": "attic", "archived": True})
    monkeypatch.setenv("GITHUB_REPOS", "widgets,attic")
    github.new_item("attic", 1, item_id=11, author=ALICE, created=ago(days=1))
    github.new_item("gadgets", 2, item_id=12, author=ALICE, created=ago(days=1))
    invoke("every_30_min")
    assert all("q=org%3Aacme+-repo%3Aacme%2Fgadgets+" in line for line in searched(github))
    assert fetch(app_env, Issue, 11) is not None and fetch(app_env, Issue, 12) is None


def test_a_consistent_org_costs_daily_two_searches_however_many_repos(github, invoke, monkeypatch):
    monkeypatch.setenv("GITHUB_REPOS", "*")
    github.repos = tools(200)
    for k in range(200):
        github.new_item(f"tool-{k}", 1, item_id=1000 + k, author=ALICE, created=ago(weeks=60, hours=k))
    invoke("daily")
    before = github.requests["search"]
    invoke("daily")
    assert github.requests["search"] - before == 2


def test_daily_finds_one_missing_item_among_many_repos_in_a_few_searches(github, invoke, app_env, monkeypatch):
    monkeypatch.setenv("GITHUB_REPOS", "*")
    github.repos = tools(200)
    for k in range(200):
        github.new_item(f"tool-{k}", 1, item_id=1000 + k, author=ALICE, created=ago(weeks=60 + k % 50))
    invoke("daily")
    github.new_item("tool-77", 2, item_id=5000, author=ALICE, created=ago(weeks=80))
    before = github.requests["search"]
    invoke("daily")
    assert fetch(app_env, Issue, 5000) is not None and count(app_env, Issue) == 201
    assert github.requests["search"] - before <= 2 + 2 * 7, "a few halvings of time, not a search per repo"


def test_packed_repo_lists_cost_daily_two_searches_per_consistent_list(github, invoke, monkeypatch):
    github.repos += tools(60)
    monkeypatch.setenv("GITHUB_REPOS", ",".join(f"tool-{k}" for k in range(20)))
    invoke("daily")
    before = github.requests["search"]
    invoke("daily")
    assert github.requests["search"] - before == 2 * 2, "twenty repos: two packed lists"


def test_issues_a_bot_opened_in_the_same_second_are_asked_about_once_each(github, invoke, monkeypatch):
    monkeypatch.setenv("GITHUB_REPOS", "*")
    github.repos = tools(30)
    created = ago(days=1)
    for k in range(30):
        github.new_item(f"tool-{k}", 1, item_id=1000 + k, author=ALICE, created=created)
    invoke("every_30_min")
    asked = [line for line in github.log if line.startswith("GET /repos/acme/tool-") and "/issues/1" in line]
    assert len(asked) == 30, "one question per issue, not one per pair of look-alikes"
