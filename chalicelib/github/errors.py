"""What the client raises: GitHub's refusals, URLs it will not follow, waits past the deadline."""

from __future__ import annotations


class GitHubAPIError(RuntimeError):
    """GitHub answered with an error we do not retry (or retries ran out); carries status, URL and message."""

    def __init__(self, status: int | None, url: str, message: str):
        self.status = status
        self.url = url
        self.message = message
        where = f"GitHub answered {status}" if status else "GitHub could not be reached"
        super().__init__(f"{where} for {url}: {message}")


class ForeignURL(GitHubAPIError):
    """A URL from GitHub's answers (a `Link`, a redirect, a payload field) that is not on the configured API."""


class OutOfTime(RuntimeError):
    """A wait GitHub asked for (rate-limit reset, retry-after, backoff) would end after the run's deadline."""


class BudgetReserved(OutOfTime):
    """The shared budget is used up, down to its reserve, or paced past the run's deadline: the run stops
    here, and work queued for later should wait `resume_in` seconds."""

    def __init__(self, message: str, resume_in: float):
        super().__init__(message)
        self.resume_in = resume_in


class IncompleteSearch(GitHubAPIError):
    """Search kept answering `incomplete_results: true` (it timed out on GitHub's side): its count is unknown."""
