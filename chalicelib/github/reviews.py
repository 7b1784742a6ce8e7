"""Pull request reviews through GraphQL: the query the client sends and how its answer becomes the timeline's
REST `reviewed` events, so the `events` table cannot tell where a row came from. No requests here: the client
sends the query (`GitHubAPI.pull_reviews`)."""

from __future__ import annotations

from urllib.parse import urlsplit

REVIEWS_QUERY = """
query($ids: [ID!]!) {
  rateLimit { cost remaining resetAt }
  nodes(ids: $ids) {
    ... on PullRequest {
      id
      url
      reviews(first: 100) {
        pageInfo { hasNextPage }
        nodes {
          id fullDatabaseId body state submittedAt url authorAssociation
          commit { oid }
          author {
            __typename login avatarUrl url
            ... on User { id databaseId isSiteAdmin }
            ... on Bot { id databaseId }
          }
        }
      }
    }
  }
}
"""
# Pull requests per GraphQL query: 50 PRs with up to 100 reviews each costs GitHub about one point.
REVIEW_BATCH = 50


def graphql_reviews(node, node_id: str) -> list[dict] | None:
    """A PR node's reviews as REST's `reviewed` events; None when the node does not hold them all in the shape
    asked (see `unusable`), so the caller reads them by REST."""
    if unusable(node, node_id) is not None:
        return None
    return [rest_review(review, node["url"]) for review in node["reviews"]["nodes"]]


def unusable(node, node_id: str) -> str | None:
    """Why a node cannot give its PR's reviews whole, or None: another node or none, more than 100 reviews, a
    review without an id, an author without a login."""
    if not isinstance(node, dict) or node.get("id") != node_id or not isinstance(node.get("url"), str):
        return "no pull request node for it"
    reviews = node.get("reviews")
    if not isinstance(reviews, dict) or not isinstance(reviews.get("nodes"), list):
        return "no reviews connection"
    if (reviews.get("pageInfo") or {}).get("hasNextPage") is not False:
        return "more than 100 reviews"
    for review in reviews["nodes"]:
        if not isinstance(review, dict) or not _whole_id(review.get("fullDatabaseId")):
            return "a review without its id"
        author = review.get("author")
        if author is not None and not (isinstance(author, dict) and isinstance(author.get("login"), str)):
            return "a review author without a login"
    return None


def _whole_id(value) -> int | None:
    """GraphQL's BigInt (`fullDatabaseId`) is a string of digits; ids past 2^31 only fit there."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _api_base_for(web_url: str) -> str:
    """The REST base of the GitHub a web URL is on: api.github.com for github.com, /api/v3 on a server."""
    parts = urlsplit(web_url)
    return "https://api.github.com" if parts.hostname == "github.com" else f"{parts.scheme}://{parts.netloc}/api/v3"


def rest_user(author: dict | None, api_base: str) -> dict | None:
    """A GraphQL actor as the REST user object GitHub's timelines carry (a deleted account is null)."""
    if not isinstance(author, dict) or not isinstance(author.get("login"), str):
        return None
    bot = author.get("__typename") == "Bot"
    login = author["login"] + ("[bot]" if bot and not author["login"].endswith("[bot]") else "")
    base = f"{api_base}/users/{login}"
    return {
        "login": login,
        "id": author.get("databaseId"),
        "node_id": author.get("id"),
        "avatar_url": author.get("avatarUrl"),
        "gravatar_id": "",
        "url": base,
        "html_url": author.get("url"),
        "followers_url": base + "/followers",
        "following_url": base + "/following{/other_user}",
        "gists_url": base + "/gists{/gist_id}",
        "starred_url": base + "/starred{/owner}{/repo}",
        "subscriptions_url": base + "/subscriptions",
        "organizations_url": base + "/orgs",
        "repos_url": base + "/repos",
        "events_url": base + "/events{/privacy}",
        "received_events_url": base + "/received_events",
        "type": "Bot" if bot else "User",
        "site_admin": bool(author.get("isSiteAdmin", False)),
        "user_view_type": "public",
    }


def rest_review(review: dict, pull_web_url: str) -> dict:
    """A GraphQL review as the timeline's `reviewed` event: REST's fields, names and lower-case state."""
    api_base = _api_base_for(pull_web_url)
    owner, repo, _, number = urlsplit(pull_web_url).path.strip("/").split("/")[:4]
    pull_api_url = f"{api_base}/repos/{owner}/{repo}/pulls/{number}"
    return {
        "id": _whole_id(review["fullDatabaseId"]),
        "node_id": review["id"],
        "user": rest_user(review.get("author"), api_base),
        "body": review.get("body"),
        "commit_id": (review.get("commit") or {}).get("oid"),
        "submitted_at": review.get("submittedAt"),
        "state": (review.get("state") or "").lower(),
        "html_url": review.get("url"),
        "pull_request_url": pull_api_url,
        "author_association": review.get("authorAssociation"),
        "_links": {"html": {"href": review.get("url")}, "pull_request": {"href": pull_api_url}},
        "event": "reviewed",
    }
