"""Errors in a person's words, with no secret in them: what the jobs, the runner and the report print and store."""

from __future__ import annotations

import re

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from .config import ConfigError
from .github import GitHubAPIError, OutOfTime


def masked(db_url: str) -> str:
    """The database URL without its password, even when the URL cannot be parsed."""
    try:
        return make_url(db_url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # not a URL: hide everything up to the host anyway
        return re.sub(r"//.*@", "//***@", db_url)


def redact(text: str, secrets: tuple[str | None, ...]) -> str:
    """`text` with every secret in it replaced, so no error text can carry the token or a password."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def describe(error: BaseException, db_url: str, secrets: tuple[str | None, ...] = ()) -> str:
    if isinstance(error, (GitHubAPIError, ConfigError, OutOfTime)):
        text = str(error)
    elif isinstance(error, SQLAlchemyError):
        cause = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        text = f"database error at {masked(db_url)}: {cause}"
    else:
        text = f"{type(error).__name__}: {error}"
    return redact(text, (*secrets, db_password(db_url)))


def db_password(db_url: str) -> str | None:
    try:
        return make_url(db_url).password
    except (ArgumentError, ValueError):  # not a URL: no password we can name
        return None
