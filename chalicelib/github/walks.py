"""Walks over a repo's two listings (issue events, comments), each recording what it proved it read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from ..times import iso, parsed
from .answers import Response
from .errors import GitHubAPIError
from .pages import ConditionalPages, Page, PageValidator
from .transport import PAGE_SIZE

if TYPE_CHECKING:
    from .client import GitHubAPI


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
COMMENTS_BLOCK = timedelta(hours=6)


class ListingWalk:
    """One walk over a repo-wide listing, iterated once. GitHub may refuse a page (422 "pagination is limited"
    past some depth, 403, 404, 451) or fail it after retries: the walk then ends, `refused` says why, and what
    it yielded before stays good. It also ends, the same way, when the run's time is up (`time_left`), so a
    long walk never runs past the Lambda's. `problem` names anything that keeps the walk from proving it read
    all.

    Every page is asked with the validator `known` holds for it: a page unchanged since a walk that stored its
    entries answers 304 and costs no rate limit; its entries are not yielded again (they are stored), and the
    walk goes on from what the validator says of the page. `fresh` holds the validators of the pages read with a
    body, for the caller to keep once their entries are stored; `with_body` counts those pages."""

    def __init__(self, api: GitHubAPI, path: str, since: datetime, known: dict[str, PageValidator] | None = None):
        self.api, self.path, self.since = api, path, since
        self.refused: GitHubAPIError | None = None
        self.problem: str | None = None
        self.pages_read = 0
        self._pages_walked = ConditionalPages(api, path, {}, dict(known or {}))

    @property
    def fresh(self) -> dict[str, PageValidator]:
        return self._pages_walked.fresh

    @property
    def with_body(self) -> int:
        return self._pages_walked.with_body

    def __iter__(self) -> Iterator[dict]:
        try:
            yield from self._walk()
        except GitHubAPIError as error:
            self.refused = error
            self.problem = (
                f"GitHub refused page {self.pages_read + 1} ({error.status or 'unreachable'}: {error.message})"
            )

    def _pages(self, params: dict) -> Iterator[Page]:
        self._pages_walked.params = params
        for page in self._pages_walked:
            self.pages_read += 1
            yield page
            if page.summary.next_url and self.api.time_left() <= 0:
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
    after its oldest event; one that meets an event newer than an earlier one proves nothing (and keeps no
    validator: a 304 must not vouch for a page out of order)."""

    proven_from: datetime | None = None
    in_order = True

    def _walk(self) -> Iterator[dict]:
        try:
            yield from self._events()
        finally:
            if not self.in_order:
                self.fresh.clear()

    def _events(self) -> Iterator[dict]:
        oldest: datetime | None = None
        for page in self._pages({}):
            if page.not_modified and oldest is not None and (page.summary.newest or oldest) > oldest:
                self._out_of_order()
            for event in page.entries:
                created = parsed(event.get("created_at") if isinstance(event, dict) else None)
                if created is not None:
                    if oldest is not None and created > oldest:
                        self._out_of_order()
                    oldest = created if oldest is None else min(oldest, created)
                if created is None or created >= self.since:
                    yield event
            if page.summary.oldest is not None:
                oldest = page.summary.oldest if oldest is None else min(oldest, page.summary.oldest)
            self.proven_from = self._proof(oldest, self.in_order)
            if oldest is not None and oldest < self.since:
                self.proven_from = self.since if self.in_order else None
                return
            if not page.summary.next_url:
                if page.summary.size < PAGE_SIZE:
                    self.proven_from = self.since if self.in_order else None
                else:
                    self.problem = self.problem or f"the listing ended on a full page ({self.pages_read}) with no next"
                return

    def _out_of_order(self) -> None:
        if self.in_order:
            self.in_order, self.problem = False, f"events out of order on page {self.pages_read}"

    @staticmethod
    def _proof(oldest: datetime | None, in_order: bool) -> datetime | None:
        """What a walk cut off here proves: every event after its oldest (events of that second may go on)."""
        return oldest + timedelta(seconds=1) if in_order and oldest is not None else None


class CommentsWalk(ListingWalk):
    """The comments listing from `since`, oldest change first; `complete` once it was walked to its end."""

    complete = False

    @staticmethod
    def params(since: datetime) -> dict:
        """The listing's query: every comment created or edited since the start of `since`'s block of
        COMMENTS_BLOCK (a little more than asked), oldest change first. The block keeps the URL the same from run
        to run, so its pages can answer 304; new and edited comments come last, so only the last page changes."""
        blocks = (since - EPOCH) // COMMENTS_BLOCK
        return {"since": iso(EPOCH + blocks * COMMENTS_BLOCK), "sort": "updated", "direction": "asc"}

    def _walk(self) -> Iterator[dict]:
        for page in self._pages(self.params(self.since)):
            yield from page.entries
        self.complete = True


def last_page(response: Response) -> int | None:
    """The page number `rel="last"` points at, if GitHub gave one."""
    last = response.links.get("last", {}).get("url")
    page = dict(parse_qsl(urlsplit(last).query)).get("page") if last else None
    return int(page) if page and page.isdigit() else None
