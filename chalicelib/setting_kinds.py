"""Each kind of setting, as read from its variable's text: the parsers `config.Settings` declares its fields
with (`config.setting`), each naming the variable and what it expected when the text is wrong."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from .event_types import KNOWN_EVENT_TYPES


class ConfigError(RuntimeError):
    """Configuration or a secret is missing or malformed; the message names what and where."""


def _whole(raw: str, name: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def _names(raw: str, name: str) -> tuple[str, ...]:
    values = tuple(part.strip() for part in raw.split(",") if part.strip())
    if not values:
        raise ConfigError(f"{name} names nothing ({raw!r}): give comma-separated names, or leave it unset")
    return values


def _date(raw: str, name: str) -> datetime:
    try:
        return datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise ConfigError(f"{name} must be a date like 2019-01-01, got {raw!r}") from None


def _choice(*choices: str) -> Callable[[str, str], str]:
    def parse(raw: str, name: str) -> str:
        if raw.lower() not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
        return raw.lower()

    return parse


def _at_least(least: int, raw: str, name: str) -> int:
    value = _whole(raw, name)
    if value < least:
        raise ConfigError(f"{name} must be a whole number of at least {least}, got {raw!r}")
    return value


def _span(unit: str, least: int) -> Callable[[str, str], timedelta]:
    return lambda raw, name: timedelta(**{unit: _at_least(least, raw, name)})


LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _api_url(raw: str, name: str) -> str:
    """https://, or http:// to this machine only (a local stand-in): anywhere else the token would go in clear."""
    parts = urlsplit(raw)
    if parts.scheme == "https" and parts.hostname:
        return raw.rstrip("/")
    if parts.scheme == "http" and parts.hostname in LOCAL_HOSTS:
        return raw.rstrip("/")
    if parts.scheme == "http":
        raise ConfigError(
            f"{name} must be an https:// URL (http:// only for localhost), got {raw!r}: the token would travel in clear"
        )
    raise ConfigError(f"{name} must be a URL like https://api.github.com or https://host/api/v3, got {raw!r}")


def _event_types(raw: str, name: str) -> frozenset[str]:
    names = _names(raw, name)
    unknown = [event for event in names if event not in KNOWN_EVENT_TYPES]
    if unknown:
        hints = []
        for event in unknown:
            close = difflib.get_close_matches(event, sorted(KNOWN_EVENT_TYPES), n=1)
            hints.append(f"{event!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ConfigError(
            f"{name} names event types GitHub does not document: {', '.join(hints)}; the known ones are "
            "chalicelib/event_types.py, KNOWN_EVENT_TYPES (leave it unset for the default list)"
        )
    return frozenset(names)


def _percent(raw: str, name: str) -> float:
    """A share given in percent (0 to 50), kept as a fraction."""
    value = _whole(raw.rstrip("%"), name)
    if not 0 <= value <= 50:
        raise ConfigError(f"{name} must be a percentage from 0 to 50, got {raw!r}")
    return value / 100


def _switch(raw: str, name: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _digits(raw: str, name: str) -> str:
    if not raw.isdigit():
        raise ConfigError(f"{name} must be GitHub's numeric id (the App's settings page shows it), got {raw!r}")
    return raw


def _bucket(raw: str, name: str) -> str:
    """An S3 bucket name as S3 allows it (3-63 lowercase letters, digits, dots and hyphens), not a URL or ARN."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", raw):
        raise ConfigError(f"{name} must be an S3 bucket name like my-team-reports (no s3:// or ARN), got {raw!r}")
    return raw


PARSERS: dict[str, Callable[[str, str], Any]] = {
    "text": lambda raw, name: raw,
    "api url": _api_url,
    "names": _names,
    "event types": _event_types,
    "date": _date,
    "days": _span("days", 1),
    "weeks": _span("weeks", 1),
    "overlap minutes": _span("minutes", 0),
    "seconds": _span("seconds", 1),
    "sweep hours": _span("hours", 1),
    "hours": lambda raw, name: float(_at_least(1, raw, name)),
    "workers": lambda raw, name: _at_least(1, raw, name),
    "percent": _percent,
    "events source": _choice("listings", "timelines"),
    "reviews via": _choice("graphql", "rest"),
    "sla basis": _choice("first_reply", "first_response"),
    "switch": _switch,
    "bucket": _bucket,
    "id": _digits,
}


# What an unset setting of a kind holds when its default is empty.
EMPTY = {"text": "", "names": (), "bucket": "", "id": ""}
