"""The app's GraphQL documents and REST calls against GitHub's published descriptions (tests/contract)."""

import ast
from pathlib import Path

import pytest

from chalicelib.github import REVIEWS_QUERY
from tests import contract

CHALICELIB = Path(__file__).resolve().parents[1] / "chalicelib"


def graphql_documents() -> dict[str, str]:
    """Every module-level GraphQL document in the app: a string constant that begins with an operation."""
    found = {}
    for path in sorted(CHALICELIB.rglob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                text = node.value.value.lstrip()
                if text.startswith(("query", "mutation", "{")):
                    module = ".".join(path.relative_to(CHALICELIB).with_suffix("").parts)
                    found[f"{module}.{node.targets[0].id}"] = node.value.value
    return found


def test_the_app_sends_graphql_documents_the_scan_finds():
    assert graphql_documents()["github.reviews.REVIEWS_QUERY"] == REVIEWS_QUERY


@pytest.mark.parametrize("name", sorted(graphql_documents()))
def test_every_graphql_document_is_valid_against_githubs_schema_with_no_deprecated_field(name):
    assert contract.document_errors(graphql_documents()[name]) == []


def test_a_deprecated_field_fails_the_check():
    old = REVIEWS_QUERY.replace("fullDatabaseId", "databaseId")
    assert any("PullRequestReview.databaseId is deprecated" in error for error in contract.document_errors(old))


def test_a_field_github_does_not_have_fails_the_check():
    assert contract.document_errors("query { viewer { favouriteColour } }") != []


def test_the_fake_fails_an_id_past_2_31_in_an_int_field_as_github_does(github):
    github.new_item("widgets", 2, item_id=12, author=None, created="2024-05-01T00:00:00Z", pr=True)
    github.timelines[12] = [
        {
            "id": 3_000_000_001,
            "node_id": "PRR_big",
            "user": None,
            "body": "",
            "state": "approved",
            "submitted_at": "2024-05-02T00:00:00Z",
            "html_url": "https://github.com/acme/widgets/pull/2#pullrequestreview-3000000001",
            "author_association": "MEMBER",
            "event": "reviewed",
        }
    ]
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on PullRequest { reviews(first: 5) { nodes { %s } } } } }"
    root = {"nodes": lambda _info, ids: [github._node(github.items[12], ids[0])]}
    answer = contract.execute(query % "fullDatabaseId", {"ids": ["I_12"]}, root)
    assert answer["data"]["nodes"][0]["reviews"]["nodes"] == [{"fullDatabaseId": "3000000001"}]
    with_int = contract.execute(query % "databaseId", {"ids": ["I_12"]}, root)
    assert "deprecated" in with_int["errors"][0]["message"]


def test_an_unresolvable_node_is_null_beside_a_not_found_error(github):
    root = {"nodes": lambda _info, ids: [github._node(None, ids[0])]}
    answer = contract.execute("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ["PR_gone"]}, root)
    assert answer["data"] == {"nodes": [None]}
    assert answer["errors"][0]["type"] == "NOT_FOUND" and answer["errors"][0]["path"] == ["nodes", 0]


def test_a_query_parameter_github_does_not_document_is_a_departure():
    assert contract.request_errors("GET", "/repos/acme/widgets/issues/events", {"since": "2024-01-01"}) == [
        "GET /repos/{owner}/{repo}/issues/events: no query parameter 'since'"
    ]


def test_a_path_github_does_not_have_is_a_departure():
    assert contract.request_errors("GET", "/repos/acme/widgets/pulls/2/comments", {}) != []


def test_an_answer_missing_a_required_field_is_a_departure(github):
    repo = github.repository({"name": "widgets"})
    del repo["full_name"]
    assert any("full_name" in error for error in contract.response_errors("GET", "/repos/acme/widgets", 200, repo))


def test_the_copies_name_their_source_and_date():
    assert contract.SOURCES["github-schema.graphql"]["package"] == "@octokit/graphql-schema"
    assert contract.SOURCES["github-openapi.json"]["package"] == "@octokit/openapi"
    assert contract.SOURCES["refreshed"]
