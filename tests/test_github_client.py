"""The one GitHub client: limits, retries, pagination, conditional requests and search windows."""

import itertools
from datetime import UTC, datetime

import pytest
import responses

from chalicelib.github import GitHubAPI, GitHubAPIError, Window
from tests.helpers import TEST_API, TOKEN


def limits(remaining="4999", reset="1700000100", resource="core"):
    return {
        "x-ratelimit-remaining": remaining,
        "x-ratelimit-reset": reset,
        "x-ratelimit-resource": resource,
        "x-ratelimit-limit": "5000",
    }


def test_sends_token_version_and_json_accept_headers(mocked, client):
    mocked.get(f"{TEST_API}/orgs/acme/repos", json=[], headers=limits())
    client.get("/orgs/acme/repos")
    sent = mocked.calls[0].request.headers
    assert sent["Authorization"] == f"Bearer {TOKEN}"
    assert sent["X-GitHub-Api-Version"] == "2022-11-28"
    assert sent["Accept"] == "application/vnd.github+json"


def test_waits_for_the_reset_when_a_bucket_is_used_up(mocked, client, clock):
    reset = str(int(clock.now) + 120)
    mocked.get(f"{TEST_API}/orgs/acme/members", json=[], headers=limits(remaining="0", reset=reset))
    mocked.get(f"{TEST_API}/orgs/acme/repos", json=[], headers=limits())
    client.get("/orgs/acme/members")
    assert clock.sleeps == []
    client.get("/orgs/acme/repos")
    assert clock.sleeps == [pytest.approx(121.0)]
    assert client.stats.rate_limit_waits == 1


def test_search_and_core_limits_are_separate_buckets(mocked, client, clock):
    reset = str(int(clock.now) + 60)
    mocked.get(
        f"{TEST_API}/search/issues",
        json={"total_count": 0, "items": []},
        headers=limits(remaining="0", reset=reset, resource="search"),
    )
    mocked.get(f"{TEST_API}/orgs/acme/repos", json=[], headers=limits())
    client.search_count("repo:acme/widgets")
    client.get("/orgs/acme/repos")
    assert clock.sleeps == []


def test_secondary_limit_waits_as_told_by_retry_after_then_retries(mocked, client, clock):
    mocked.get(
        f"{TEST_API}/orgs/acme/repos",
        status=403,
        headers={"retry-after": "7"},
        json={"message": "You have exceeded a secondary rate limit."},
    )
    mocked.get(f"{TEST_API}/orgs/acme/repos", json=[{"name": "widgets", "archived": False}], headers=limits())
    assert client.list_repos("acme") == ["widgets"]
    assert clock.sleeps == [7.0]


def test_429_without_retry_after_waits_a_minute(mocked, client, clock):
    mocked.get(f"{TEST_API}/orgs/acme/repos", status=429, json={"message": "Too many requests"})
    mocked.get(f"{TEST_API}/orgs/acme/repos", json=[], headers=limits())
    client.get("/orgs/acme/repos")
    assert clock.sleeps == [60.0]


def test_server_error_is_retried_with_backoff_then_succeeds(mocked, client, clock):
    mocked.get(f"{TEST_API}/orgs/acme/repos", status=502, body="Bad Gateway")
    mocked.get(f"{TEST_API}/orgs/acme/repos", status=503, body="Unavailable")
    mocked.get(f"{TEST_API}/orgs/acme/repos", json=[], headers=limits())
    assert client.get("/orgs/acme/repos").status == 200
    assert clock.sleeps == [1.0, 2.0]
    assert client.stats.retries == 2


def test_server_errors_that_persist_raise_a_clear_error(mocked, clock):
    client = GitHubAPI(TEST_API, TOKEN, sleep=clock.sleep, clock=clock, max_retries=3)
    for _ in range(4):
        mocked.get(f"{TEST_API}/orgs/acme/repos", status=504, json={"message": "Gateway Timeout"})
    with pytest.raises(GitHubAPIError) as raised:
        client.get("/orgs/acme/repos")
    assert raised.value.status == 504
    assert "Gateway Timeout" in str(raised.value) and "gave up after 4 attempts" in str(raised.value)
    assert f"{TEST_API}/orgs/acme/repos" in str(raised.value)


def test_client_error_carries_status_url_and_message_but_never_the_token(mocked, client):
    mocked.get(f"{TEST_API}/repos/acme/nope/issues/1", status=404, json={"message": "Not Found"})
    with pytest.raises(GitHubAPIError) as raised:
        client.get("/repos/acme/nope/issues/1")
    text = str(raised.value)
    assert raised.value.status == 404 and "Not Found" in text and "/repos/acme/nope/issues/1" in text
    assert TOKEN not in text and TOKEN not in repr(raised.value.__dict__)


def test_pagination_follows_link_headers(mocked, client):
    next_url = f"{TEST_API}/orgs/acme/members?per_page=100&page=2"
    mocked.get(
        f"{TEST_API}/orgs/acme/members",
        json=[{"id": 1}],
        headers={**limits(), "Link": f'<{next_url}>; rel="next", <{next_url}>; rel="last"'},
        match=[responses.matchers.query_param_matcher({"per_page": "100"})],
    )
    mocked.get(next_url, json=[{"id": 2}], headers=limits())
    assert [m["id"] for m in client.paginate("/orgs/acme/members")] == [1, 2]


def test_not_modified_costs_nothing_and_is_counted_apart(mocked, client):
    url = f"{TEST_API}/repos/acme/widgets/issues/1/timeline"
    mocked.get(
        url,
        status=304,
        headers={"ETag": '"abc"'},
        match=[responses.matchers.header_matcher({"If-None-Match": '"abc"'})],
    )
    page = client.timeline_page(url, 1, etag='"abc"')
    assert page.not_modified and page.events == [] and page.etag == '"abc"'
    assert client.stats.not_modified == 1 and client.stats.core == 0


def test_search_over_the_result_cap_is_split_into_windows_and_loses_nothing(github, api):
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for n in range(2500):
        created = datetime.fromtimestamp(start.timestamp() + n * 3600, UTC)
        github.new_item("widgets", n + 1, item_id=n + 1, author=None, created=created.strftime("%Y-%m-%dT%H:%M:%SZ"))
    window = Window(start, datetime(2024, 6, 1, tzinfo=UTC))
    found = [
        i for result in api.search_windows("repo:acme/widgets", field="created", window=window) for i in result.items
    ]
    assert sorted(i["id"] for i in found) == list(range(1, 2501))
    assert not any("page=11" in line for line in github.log)


def test_windows_split_into_adjacent_ranges_that_cover_every_second():
    window = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, 0, 0, 9, tzinfo=UTC))
    parts = window.split(3)
    assert parts[0].start == window.start and parts[-1].end == window.end
    assert all((b.start - a.end).total_seconds() == 1 for a, b in itertools.pairwise(parts))
    assert sum(p.seconds + 1 for p in parts) == 10


def test_transfer_check_reads_a_301_without_following_it_blindly(mocked, client):
    old = f"{TEST_API}/repos/acme/widgets/issues/5"
    new = f"{TEST_API}/repositories/42/issues/9"
    mocked.get(old, status=301, headers={"Location": new}, json={"message": "Moved Permanently", "url": new})
    mocked.get(new, json={"id": 99, "number": 9, "url": f"{TEST_API}/repos/acme/gadgets/issues/9"}, headers=limits())
    check = client.issue_location(old)
    assert check.outcome == "moved" and check.new_issue["id"] == 99


def test_transfer_check_tells_deleted_from_present(mocked, client):
    mocked.get(f"{TEST_API}/repos/acme/widgets/issues/1", status=410, json={"message": "This issue was deleted"})
    mocked.get(f"{TEST_API}/repos/acme/widgets/issues/2", json={"id": 2}, headers=limits())
    assert client.issue_location(f"{TEST_API}/repos/acme/widgets/issues/1").outcome == "gone"
    assert client.issue_location(f"{TEST_API}/repos/acme/widgets/issues/2").outcome == "present"


def test_an_answer_that_is_not_json_is_a_clear_error(mocked, client):
    mocked.get(f"{TEST_API}/orgs/acme/members", body="<html>Proxy login required</html>", headers=limits())
    with pytest.raises(GitHubAPIError, match="not JSON: <html>Proxy login required"):
        client.get("/orgs/acme/members")


PULL = {"id": 12, "node_id": "PR_12", "org": "acme", "repo": "widgets", "number": 2}
A_REVIEW = {
    "id": "PRR_1",
    "fullDatabaseId": "3000000001",
    "body": "ok",
    "state": "APPROVED",
    "submittedAt": "2024-05-02T00:00:00Z",
    "url": "https://github.com/acme/widgets/pull/2#pullrequestreview-3000000001",
    "authorAssociation": "MEMBER",
    "commit": {"oid": "abc"},
    "author": {"__typename": "User", "login": "maria", "avatarUrl": "a", "url": "u", "id": "U_1", "databaseId": 1},
}


def a_pull_node(**changes) -> dict:
    node = {
        "id": "PR_12",
        "url": "https://github.com/acme/widgets/pull/2",
        "reviews": {"pageInfo": {"hasNextPage": False}, "nodes": [A_REVIEW]},
    }
    return {**node, **changes}


@pytest.mark.parametrize(
    "node, why",
    [
        (a_pull_node(reviews=None), "no reviews connection"),
        (
            a_pull_node(reviews={"pageInfo": {"hasNextPage": False}, "nodes": [{**A_REVIEW, "author": {"id": "U"}}]}),
            "a review author without a login",
        ),
        ({"id": "PR_12", "number": 2}, "no pull request node for it"),
    ],
    ids=["reviews null", "author without login", "issue-shaped node"],
)
def test_a_malformed_graphql_node_is_read_by_rest_with_a_warning(mocked, client, node, why):
    mocked.post(f"{TEST_API}/graphql", json={"data": {"rateLimit": {"cost": "one"}, "nodes": [node]}})
    mocked.get(f"{TEST_API}/repos/acme/widgets/pulls/2/reviews", json=[{"id": 7, "state": "APPROVED"}])
    warnings: list[str] = []
    [(_, reviews)] = list(client.pull_reviews([PULL], warn=warnings.append))
    assert reviews == [{"id": 7, "state": "approved", "event": "reviewed"}]
    assert warnings == [f"GraphQL could not give the reviews of acme/widgets#2 ({why}): read by REST"]
    assert client.stats.graphql_points == 0, "a cost that is not a number is not counted"


def test_a_well_formed_node_needs_no_rest(mocked, client):
    mocked.post(f"{TEST_API}/graphql", json={"data": {"rateLimit": {"cost": 1}, "nodes": [a_pull_node()]}})
    [(_, reviews)] = list(client.pull_reviews([PULL]))
    assert [review["id"] for review in reviews] == [3_000_000_001]
    assert reviews[0]["user"]["login"] == "maria" and client.stats.graphql_points == 1
