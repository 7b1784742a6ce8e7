"""The one GitHub client, by concern: `transport` (auth, the token's one origin, redirects, retries, rate limits
through `limits`, the deadline, pagination), `client` (every endpoint the app calls, as a `GitHubAPI` method),
`walks` (repo listings that record what they proved), `reviews` (the GraphQL reviews query and its reshaping),
`windows` (search windows), `app_auth` (a token, or a GitHub App's installation token), `errors`. Import from
here; no URL is built outside this package."""

from .client import SEARCH_RESULT_CAP, GitHubAPI, IssueLocation, TimelinePage
from .errors import BudgetReserved, ForeignURL, GitHubAPIError, IncompleteSearch, OutOfTime
from .reviews import REVIEW_BATCH, REVIEWS_QUERY, rest_review, rest_user
from .transport import MAX_BODY_BYTES, MAX_PAGES, PAGE_SIZE, GraphQLResult, Response, origin
from .walks import CommentsWalk, IssueEventsWalk, ListingWalk
from .windows import SearchWindow, Window

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_PAGES",
    "PAGE_SIZE",
    "REVIEWS_QUERY",
    "REVIEW_BATCH",
    "SEARCH_RESULT_CAP",
    "BudgetReserved",
    "CommentsWalk",
    "ForeignURL",
    "GitHubAPI",
    "GitHubAPIError",
    "GraphQLResult",
    "IncompleteSearch",
    "IssueEventsWalk",
    "IssueLocation",
    "ListingWalk",
    "OutOfTime",
    "Response",
    "SearchWindow",
    "TimelinePage",
    "Window",
    "origin",
    "rest_review",
    "rest_user",
]
