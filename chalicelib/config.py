"""Settings and secrets, resolved once per process and never at import time.

Importing this module touches neither AWS nor the network, so `chalice package` and the tests can import
`app.py` anywhere. Secrets come from SSM Parameter Store inside Lambda and from the environment (or `.env`)
everywhere else.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from .event_types import DEFAULT_TRACKED_EVENTS
from .setting_kinds import EMPTY, PARSERS, ConfigError

log = logging.getLogger(__name__)

DEFAULT_REPOS = (
    "amplify-cli",
    "amplify-js",
    "amplify-ui",
    "amplify-hosting",
    "amplify-codegen",
    "amplify-studio",
    "amplify-flutter",
    "amplify-swift",
    "amplify-android",
    "amplify-category-api",
    "docs",
    "discord-bot",
    "learn",
    "amplify-cli-export-construct",
    "maplibre-gl-js-amplify",
    "amplify-ios-maplibre",
)

DEFAULT_DB_URL = "sqlite:///contributor_metrics.db"
ALL_REPOS = "*"


def setting(env_name: str, kind: str, default: str) -> Any:
    """A field read from the environment variable `env_name`, parsed as `kind` (a key of PARSERS); `default` is
    written as the variable would be, and parsed the same way, so each default is written once."""
    value = PARSERS[kind](default, env_name) if default else EMPTY[kind]
    return field(default=value, metadata={"env": env_name, "kind": kind})


# The functions of a deployment that may call GitHub at once on its token or installation (app.py's schedules and
# queue consumers), and GitHub's bound on concurrent requests, which they all share.
SCHEDULED_JOBS = 3
WEBHOOK_CONCURRENCY = 5
FAN_OUT_CONCURRENCY = 10
CONCURRENT_REQUEST_LIMIT = 100
# Of GitHub's per-minute limits, what the jobs share among them: the rest is the webhook consumers' few requests.
JOBS_MINUTE_SHARE = 0.9


@dataclass(frozen=True)
class Settings:
    stage: str = setting("STAGE", "text", "dev")
    org: str = setting("GITHUB_ORG", "text", "aws-amplify")
    repos: tuple[str, ...] = setting("GITHUB_REPOS", "names", ",".join(DEFAULT_REPOS))
    api_url: str = setting("GITHUB_API_URL", "api url", "https://api.github.com")
    new_items_window: timedelta = setting("NEW_ITEMS_DAYS", "days", "5")
    recently_closed_window: timedelta = setting("RECENTLY_CLOSED_WEEKS", "weeks", "1")
    unmerged_window: timedelta = setting("UNMERGED_RECONCILE_WEEKS", "weeks", "52")
    reconcile_since: datetime = setting("DAILY_RECONCILE_SINCE", "date", "2019-01-01")
    nrt_window: timedelta = setting("NRT_EVENTS_DAYS", "days", "1")
    sync_overlap: timedelta = setting("SYNC_OVERLAP_MINUTES", "overlap minutes", "30")
    listings_sweep: timedelta = setting("LISTINGS_SWEEP_HOURS", "sweep hours", "1")
    tracked_events: frozenset[str] = setting("TRACKED_EVENTS", "event types", ",".join(DEFAULT_TRACKED_EVENTS))
    timeline_workers: int = setting("TIMELINE_WORKERS", "workers", "4")
    local_time_budget: timedelta = setting("LOCAL_TIME_BUDGET_SECONDS", "seconds", "280")
    send_from_email: str = setting("SEND_FROM_EMAIL", "text", "")
    send_to_emails: tuple[str, ...] = setting("SEND_TO_EMAIL", "names", "")
    digest_to_emails: tuple[str, ...] = setting("DIGEST_TO_EMAIL", "names", "")
    sla_hours: float = setting("SLA_HOURS", "hours", "72")
    events_source: str = setting("EVENTS_SOURCE", "events source", "listings")
    reviews_via: str = setting("REVIEWS_VIA", "reviews via", "graphql")
    sla_basis: str = setting("SLA_BASIS", "sla basis", "first_reply")
    label_timers: tuple[str, ...] = setting("LABEL_TIMERS", "names", "")
    exclude_users: tuple[str, ...] = setting("EXCLUDE_USERS", "names", "")
    digest_responders: bool = setting("DIGEST_RESPONDERS", "switch", "true")
    report_bucket: str = setting("REPORT_BUCKET", "bucket", "")
    app_id: str = setting("GITHUB_APP_ID", "id", "")
    app_installation_id: str = setting("GITHUB_APP_INSTALLATION_ID", "id", "")
    webhook_hook_id: str = setting("WEBHOOK_HOOK_ID", "id", "")
    fan_out: bool = setting("FAN_OUT", "switch", "false")
    rate_limit_reserve: float = setting("RATE_LIMIT_RESERVE", "percent", "10")

    @property
    def all_repos(self) -> bool:
        return self.repos == (ALL_REPOS,)

    @property
    def requests_in_flight(self) -> int:
        """The most requests the deployment's functions may have open at once: each job its timeline threads,
        each webhook consumer one."""
        jobs = SCHEDULED_JOBS + (FAN_OUT_CONCURRENCY if self.fan_out else 0)
        return jobs * self.timeline_workers + WEBHOOK_CONCURRENCY

    def minute_share(self, fan_out_worker: bool = False) -> float:
        """A run's share of GitHub's per-minute limits. The scheduled jobs each have the jobs' share: they
        overlap (all three fire at 05:00) but ask different endpoints (searches and the org's listings; the
        repos' listings and timelines). With the fan-out, its workers, which ask what the jobs ask, split half
        of it and the jobs keep the other half."""
        if not self.fan_out:
            return JOBS_MINUTE_SHARE
        half = JOBS_MINUTE_SHARE / 2
        return half / FAN_OUT_CONCURRENCY if fan_out_worker else half

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Each setting from its variable; one unset (or blank) keeps its default. Every setting that is wrong is
        named, one line each, in one ConfigError."""
        values, wrong = {}, []
        for declared in fields(cls):
            raw = env.get(declared.metadata["env"], "").strip()
            if raw:
                try:
                    values[declared.name] = PARSERS[declared.metadata["kind"]](raw, declared.metadata["env"])
                except ConfigError as error:
                    wrong.append(str(error))
        if wrong:
            raise ConfigError("\n".join(wrong))
        settings = cls(**values)
        if settings.requests_in_flight > CONCURRENT_REQUEST_LIMIT:
            raise ConfigError(
                f"TIMELINE_WORKERS={settings.timeline_workers}"
                + (f" with FAN_OUT's {FAN_OUT_CONCURRENCY} workers" if settings.fan_out else "")
                + f" lets the functions hold {settings.requests_in_flight} requests open at once, past GitHub's "
                f"{CONCURRENT_REQUEST_LIMIT}: lower TIMELINE_WORKERS"
            )
        return settings


def in_lambda() -> bool:
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


@functools.lru_cache(maxsize=8)
def _dotenv_file(path: str) -> dict[str, str]:
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None} if path else {}


def environment() -> Mapping[str, str]:
    """The process environment over the values of a `.env` file in the working directory (locally only; never
    one from a parent directory, which may belong to another project).

    Read on each call (it is cheap), so a process whose environment changes sees the change; the file itself
    is parsed once."""
    if in_lambda():
        return os.environ
    dotenv = Path.cwd() / ".env"
    return {**_dotenv_file(str(dotenv) if dotenv.is_file() else ""), **os.environ}


@functools.lru_cache(maxsize=16)
def _settings_from(items: frozenset[tuple[str, str]]) -> Settings:
    return Settings.from_env(dict(items))


def get_settings() -> Settings:
    """The settings for the current environment, built once per distinct environment."""
    return _settings_from(frozenset(environment().items()))


def parameter_path(stage: str, name: str) -> str:
    return f"/contributor-metrics/{stage}/{name}"


# A warm container keeps SSM values this long, so a rotated token or database URL is picked up without a deploy.
SSM_CACHE_SECONDS = 15 * 60
_ssm_cache: dict[str, tuple[str, float]] = {}


def _read_ssm_parameter(path: str, optional: bool = False) -> str | None:
    """A SecureString's value, asked of SSM at most once per SSM_CACHE_SECONDS per warm container; for an
    `optional` parameter, None when it does not exist."""
    cached = _ssm_cache.get(path)
    if cached is not None and time.monotonic() - cached[1] < SSM_CACHE_SECONDS:
        return cached[0]
    value = _fetch_ssm_parameter(path, optional)
    _ssm_cache[path] = (value, time.monotonic())
    return value


def _fetch_ssm_parameter(path: str, optional: bool = False) -> str | None:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    hint = f"the function's role needs ssm:GetParameter on {path} (and kms:Decrypt on its key)"
    try:
        response = boto3.client("ssm").get_parameter(Name=path, WithDecryption=True)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ParameterNotFound" and optional:
            return None
        if code == "ParameterNotFound":
            raise ConfigError(f"SSM parameter {path} does not exist: create it as a SecureString") from None
        raise ConfigError(f"cannot read SSM parameter {path} ({code}): {hint}") from None
    except BotoCoreError as error:
        raise ConfigError(f"cannot read SSM parameter {path} ({type(error).__name__}): {hint}") from None
    value = (response.get("Parameter") or {}).get("Value") or ""
    if not value.strip():
        raise ConfigError(f"SSM parameter {path} is empty: put the value in it as a SecureString")
    return value.strip()


UNAUTHENTICATED_WARNING = (
    "GH_TOKEN is not set: calling GitHub unauthenticated, limited to 60 core requests per hour and "
    "10 searches per minute. Set GH_TOKEN (in the environment or a .env file) to a token that can read the org."
)


# GitHub's tokens (classic `ghp_…`, fine-grained `github_pat_…`, app `ghs_…`, OAuth `gho_…`) and the 40-hex
# tokens of older releases and GitHub Enterprise Server use only these characters.
TOKEN_CHARACTERS = re.compile(r"[A-Za-z0-9_.\-]+")


def checked_token(token: str, source: str) -> str:
    """The token, or a ConfigError that says what is wrong with it without showing any of it."""
    if not TOKEN_CHARACTERS.fullmatch(token):
        odd = sorted(
            {
                "a space"
                if c == " "
                else "a line break"
                if c in "\r\n"
                else "a tab"
                if c == "\t"
                else "a non-ASCII character"
                if ord(c) > 127
                else f"{c!r}"
                for c in token
                if not TOKEN_CHARACTERS.fullmatch(c)
            }
        )
        raise ConfigError(
            f"the GitHub token in {source} contains {', '.join(odd)}: a token is letters, digits, '_', '-' and "
            "'.' only (was it pasted with a quote or a second line?)"
        )
    return token


def secret(parameter: str, variable: str, optional: bool = False) -> tuple[str | None, str]:
    """A secret and where it came from: the SecureString /contributor-metrics/{stage}/{parameter} inside Lambda,
    the environment variable `variable` (or `.env`) everywhere else; None when it is not set (in Lambda only an
    `optional` one may be missing)."""
    if in_lambda():
        path = parameter_path(get_settings().stage, parameter)
        return _read_ssm_parameter(path, optional=optional), f"SSM parameter {path}"
    return environment().get(variable, "").strip() or None, variable


def get_github_token(quiet: bool = False) -> str | None:
    """The GitHub token, or None locally without one (unauthenticated, with a warning unless `quiet`)."""
    token, source = secret("token", "GH_TOKEN")
    if not token:
        if not quiet:
            log.warning(UNAUTHENTICATED_WARNING)
        return None
    return checked_token(token, source)


def get_db_url() -> str:
    """The database URL, checked and given the driver this app ships (see `normalized_db_url`)."""
    url, source = secret("db_url", "DB_URL")
    return normalized_db_url(url or DEFAULT_DB_URL, source)


def get_slack_webhook_url() -> str | None:
    """Where the digest is posted on Slack, if anywhere: the optional SecureString
    /contributor-metrics/{stage}/slack_webhook_url in Lambda, SLACK_WEBHOOK_URL locally."""
    return secret("slack_webhook_url", "SLACK_WEBHOOK_URL", optional=True)[0]


def normalized_db_url(url: str, source: str = "DB_URL") -> str:
    """`postgresql://` and `postgres://` (the original app's form, and what hosting providers hand out) mean
    the psycopg2 driver we ship; SQLAlchemy 2.1 would otherwise look for psycopg 3, which is not installed.
    A password with an unescaped `@` is escaped, so it is read (and hidden) whole.

    Anything that is not a database URL is a ConfigError naming `source`, never showing a password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    hint = "like sqlite:///contributor_metrics.db or postgresql://user:password@host:5432/dbname"
    if "://" not in url:
        raise ConfigError(f"{source} is not a database URL (a bare path?): give a URL {hint}")
    scheme, rest = url.split("://", 1)
    authority, slash, path = rest.partition("/")
    if authority.count("@") > 1:
        user_info, host = authority.rsplit("@", 1)
        user, colon, password = user_info.partition(":")
        authority = f"{user}{colon}{quote(unquote(password), safe='')}@{host}"
    if scheme in ("postgres", "postgresql"):
        scheme = "postgresql+psycopg2"
    url = f"{scheme}://{authority}{slash}{path}"
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise ConfigError(f"{source} cannot be read as a database URL: give a URL {hint}") from None
    if parsed.get_backend_name() not in ("postgresql", "sqlite"):
        raise ConfigError(f"{source} names a {parsed.get_backend_name()} database: only PostgreSQL and SQLite work")
    return url


def reset_caches() -> None:
    """Forget resolved settings and secrets (tests change the environment between cases)."""
    for cached in (_dotenv_file, _settings_from):
        cached.cache_clear()
    _ssm_cache.clear()


def get_report_signer() -> tuple[str, str] | None:
    """An IAM user's access key ("KEY_ID:SECRET") that signs the digest's link to the page, if one is set: the
    optional SecureString /contributor-metrics/{stage}/report_signer in Lambda, REPORT_SIGNER locally. A link signed
    with a role's temporary credentials dies with them (hours); one signed by an IAM user's key lasts its week."""
    value, source = secret("report_signer", "REPORT_SIGNER", optional=True)
    if not value:
        return None
    key_id, colon, secret_key = value.partition(":")
    if not (colon and key_id.strip() and secret_key.strip()):
        raise ConfigError(
            f"{source} must be ACCESS_KEY_ID:SECRET_ACCESS_KEY (an IAM user's key that may read the page)"
        )
    return key_id.strip(), secret_key.strip()


def get_app_private_key() -> str:
    """The GitHub App's private key (PEM): the SecureString /contributor-metrics/{stage}/app_private_key in Lambda,
    the file GITHUB_APP_PRIVATE_KEY_FILE names everywhere else."""
    if in_lambda():
        key, _ = secret("app_private_key", "GITHUB_APP_PRIVATE_KEY")
        return key or ""
    path = environment().get("GITHUB_APP_PRIVATE_KEY_FILE", "").strip()
    if not path:
        raise ConfigError(
            "GITHUB_APP_ID is set but GITHUB_APP_PRIVATE_KEY_FILE is not: name the .pem file GitHub generated for "
            "the App"
        )
    try:
        return Path(path).expanduser().read_text()
    except OSError as error:
        raise ConfigError(f"GITHUB_APP_PRIVATE_KEY_FILE={path}: cannot read it ({error.strerror})") from None
