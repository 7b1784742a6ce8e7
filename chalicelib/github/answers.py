"""What GitHub answers, as the client hands it on: a REST `Response` (status, data, headers, links) and a
`GraphQLResult` (the data that resolved, and the errors beside it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests


@dataclass
class Response:
    status: int
    url: str
    data: Any
    headers: requests.structures.CaseInsensitiveDict
    links: dict[str, dict[str, str]]

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str | None:
        return self.headers.get("ETag")

    @property
    def next_url(self) -> str | None:
        return self.links.get("next", {}).get("url")


@dataclass
class GraphQLResult:
    """A GraphQL answer: the `data` GitHub resolved and the `errors` beside it (each with its `path`)."""

    data: dict
    errors: list[dict] = field(default_factory=list)

    def failed(self, field_name: str) -> dict[int, str]:
        """Entries of the list `field_name` that an error concerns (index -> GitHub's message)."""
        found: dict[int, str] = {}
        for error in self.errors:
            index = _entry_of(error)
            if index is not None and error["path"][0] == field_name:
                found.setdefault(index, f"{error.get('type') or 'error'}: {error.get('message', '')}")
        return found

    def unplaced(self) -> list[str]:
        """Messages of errors that name no list entry (the caller warns of them)."""
        return [str(error.get("message", error)) for error in self.errors if _entry_of(error) is None]


def _entry_of(error: dict) -> int | None:
    path = error.get("path")
    return path[1] if isinstance(path, list) and len(path) >= 2 and isinstance(path[1], int) else None
