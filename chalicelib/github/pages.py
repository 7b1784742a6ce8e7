"""Listing pages asked conditionally: each page with the ETag it had when last read, so an unchanged page answers
304, which GitHub does not count against the primary rate limit when the request carries authorization ("Best
practices for using the REST API": use conditional requests if appropriate). A 304 has no body and need not carry
a `Link` header, so what a walk needs to go on past it (the next page, how many entries the page held, the span of
their `created_at`) is kept with the validator; and, for a listing whose 304 must give back what the page held
(the org's repos, read at the start of every run), the entries themselves, trimmed to what is used."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol
from urllib.parse import urlencode

from ..times import parsed
from .answers import Response
from .errors import GitHubAPIError
from .transport import MAX_PAGES, PAGE_SIZE, shown_url


@dataclass(frozen=True)
class PageValidator:
    """What a page said when it was last read whole."""

    etag: str
    next_url: str | None
    size: int
    oldest: datetime | None = None
    newest: datetime | None = None
    entries: list | None = None


@dataclass(frozen=True)
class Page:
    """One page of a walk: its entries (none when GitHub said it is unchanged), and what it said of itself."""

    entries: list
    summary: PageValidator
    not_modified: bool


class _Getter(Protocol):
    def url(self, path_or_url: str) -> str: ...

    def get(self, path_or_url: str, *, etag: str | None = None) -> Response: ...


@dataclass
class ConditionalPages:
    """The pages of one listing, each asked with its known validator; `fresh` collects the validators of the pages
    read with a body, for the caller to keep once what they describe is stored. A 304 page has no entries (they
    were stored when it was read), unless the listing `replays`: then each validator keeps its page's entries
    (as `replays` trims them) and a page gives them so trimmed, read whole or answered 304 alike."""

    api: _Getter
    path: str
    params: dict
    known: dict[str, PageValidator] = field(default_factory=dict)
    fresh: dict[str, PageValidator] = field(default_factory=dict)
    with_body: int = 0
    replays: Callable[[dict], dict] | None = None

    def first_url(self) -> str:
        """Page 1's URL, its query in one order, so the same listing is the same key from run to run."""
        return self.api.url(self.path) + "?" + urlencode(sorted({"per_page": PAGE_SIZE, **self.params}.items()))

    def __iter__(self) -> Iterator[Page]:
        url: str | None = self.first_url()
        seen: set[str] = set()
        while url is not None:
            if url in seen or len(seen) >= MAX_PAGES:
                why = "loops back to a page already read" if url in seen else f"exceeds {MAX_PAGES} pages"
                raise GitHubAPIError(None, shown_url(url), f"the Link: next chain {why}")
            seen.add(url)
            page = self._page(url)
            yield page
            url = page.summary.next_url

    def _page(self, url: str) -> Page:
        known = self.known.get(url)
        if known is not None and self.replays is not None and known.entries is None:
            known = None  # a validator without the entries a 304 would have to give back
        response = self.api.get(url, etag=known.etag if known else None)
        if response.not_modified and known is not None:
            return Page(list(known.entries or []), known, True)
        if not isinstance(response.data, list):
            raise GitHubAPIError(response.status, shown_url(response.url), "a listing page that is not a list")
        self.with_body += 1
        summary = summarize(response)
        if self.replays is not None:
            summary = replace(summary, entries=[self.replays(entry) for entry in response.data])
        if summary.etag:
            self.fresh[url] = summary
        return Page(response.data if summary.entries is None else list(summary.entries), summary, False)


def summarize(response: Response) -> PageValidator:
    """A page read with a body, as its validator: the ETag, the next page, and its entries' span."""
    stamps = [parsed(entry.get("created_at")) for entry in response.data if isinstance(entry, dict)]
    stamps = [stamp for stamp in stamps if stamp is not None]
    return PageValidator(
        etag=response.etag or "",
        next_url=response.next_url,
        size=len(response.data),
        oldest=min(stamps, default=None),
        newest=max(stamps, default=None),
    )
