"""Walks over a repo's two listings (issue events, comments), each recording what it proved it read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from ..times import iso, parsed
from .errors import GitHubAPIError
from .transport import PAGE_SIZE, Response, shown_url

if TYPE_CHECKING:
    from .client import GitHubAPI


class ListingWalk:
    """One walk over a repo-wide listing, iterated once. GitHub may refuse a page (422 "pagination is limited"
    past some depth, 403, 404, 451) or fail it after retries: the walk then ends, `refused` says why, and what
    it yielded before stays good. It also ends, the same way, when the run's time is up (`time_left`), so a
    long walk never runs past the Lambda's. `problem` names anything that keeps the walk from proving it read
    all."""

    def __init__(self, api: GitHubAPI, path: str, since: datetime):
        self.api, self.path, self.since = api, path, since
        self.refused: GitHubAPIError | None = None
        self.problem: str | None = None
        self.pages_read = 0

    def __iter__(self) -> Iterator[dict]:
        try:
            yield from self._walk()
        except GitHubAPIError as error:
            self.refused = error
            self.problem = (
                f"GitHub refused page {self.pages_read + 1} ({error.status or 'unreachable'}: {error.message})"
            )

    def _pages(self, params: dict) -> Iterator[tuple[Response, list]]:
        for response in self.api.pages(self.api.get(self.path, params={"per_page": PAGE_SIZE, **params})):
            if not isinstance(response.data, list):
                raise GitHubAPIError(response.status, shown_url(response.url), "a listing page that is not a list")
            self.pages_read += 1
            yield response, response.data
            if response.next_url and self.api.time_left() <= 0:
                self.problem = f"stopped after page {self.pages_read} at the run's deadline"
                return

    def _walk(self) -> Iterator[dict]:
        raise NotImplementedError


class IssueEventsWalk(ListingWalk):
    """The issue events listing, newest first; it takes no `since`, so paging stops after the first page that
    reaches before it.

    `proven_from`: every issue event created at or after it was read, or None when nothing is proven. The walk
    proves `since` when it reached before it, or when the listing ended on a page that was not full (its first
    event ever). One that ends early (a full last page without `rel="next"`) or is refused proves only what lies
    after its oldest event; one that meets an event newer than an earlier one proves nothing."""

    proven_from: datetime | None = None

    def _walk(self) -> Iterator[dict]:
        oldest: datetime | None = None
        in_order = True
        for response, events in self._pages({}):
            for event in events:
                created = parsed(event.get("created_at") if isinstance(event, dict) else None)
                if created is not None:
                    if oldest is not None and created > oldest and in_order:
                        in_order, self.problem = False, f"events out of order on page {self.pages_read}"
                    oldest = created if oldest is None else min(oldest, created)
                if created is None or created >= self.since:
                    yield event
            self.proven_from = self._proof(oldest, in_order)
            if oldest is not None and oldest < self.since:
                self.proven_from = self.since if in_order else None
                return
            if not response.next_url:
                if len(events) < PAGE_SIZE:
                    self.proven_from = self.since if in_order else None
                else:
                    self.problem = self.problem or f"the listing ended on a full page ({self.pages_read}) with no next"
                return

    @staticmethod
    def _proof(oldest: datetime | None, in_order: bool) -> datetime | None:
        """What a walk cut off here proves: every event after its oldest (events of that second may go on)."""
        return oldest + timedelta(seconds=1) if in_order and oldest is not None else None


class CommentsWalk(ListingWalk):
    """The comments listing from `since`, oldest change first; `complete` once it was walked to its end."""

    complete = False

    @staticmethod
    def params(since: datetime) -> dict:
        """The listing's query: every comment created or edited since `since`, oldest change first."""
        return {"since": iso(since), "sort": "updated", "direction": "asc"}

    def _walk(self) -> Iterator[dict]:
        for _response, comments in self._pages(self.params(self.since)):
            yield from comments
        self.complete = True


def last_page(response: Response) -> int | None:
    """The page number `rel="last"` points at, if GitHub gave one."""
    last = response.links.get("last", {}).get("url")
    page = dict(parse_qsl(urlsplit(last).query)).get("page") if last else None
    return int(page) if page and page.isdigit() else None
