"""Time as GitHub writes it and as the tables store it, in one place."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def parse_timestamp(value: Any) -> datetime | None:
    """GitHub's `2024-05-01T12:00:00Z` (or a datetime) as a naive UTC datetime, how the tables store time."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if value.endswith("Z"):
        return datetime.fromisoformat(value[:-1])
    return datetime.fromisoformat(value).astimezone(UTC).replace(tzinfo=None)


def parsed(stamp: Any) -> datetime | None:
    """A timestamp from a payload as an aware datetime; None when it is missing or not a time."""
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None


def iso(moment: datetime) -> str:
    """A moment as GitHub's query parameters and qualifiers write it: whole seconds, UTC, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def whole_seconds(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)
