"""Who the client is to GitHub: a personal access token, or a GitHub App's installation on the org.

An App signs a JWT with its private key (RS256, issued a minute in the past so a clock a little ahead of GitHub's
is not refused, expiring within 10 minutes as GitHub requires), finds the org's installation, and trades the JWT
for an installation token that lasts an hour. The token is kept and renewed a few minutes before it expires, and
once more when GitHub answers 401 mid-run (revoked, or the clocks disagree), so a backfill of hours never fails at
the hour mark. The App's budget is its own: 5,000 requests an hour, plus 50 per repo and per user above 20, at most
12,500 (15,000 on Enterprise Cloud), instead of one person's 5,000.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from ..config import ConfigError, Settings, get_app_private_key, get_github_token
from .errors import GitHubAPIError

log = logging.getLogger("chalicelib.github")

# An installation token is renewed this long before GitHub's `expires_at`.
RENEW_BEFORE_SECONDS = 5 * 60
# The JWT: issued this long in the past (clock drift), valid this long (GitHub refuses more than 10 minutes).
JWT_BACKDATE_SECONDS = 60
JWT_LIFETIME_SECONDS = 9 * 60


class StaticToken:
    """A token that is what it is (a personal access token, or the JWT of one App call)."""

    renewable = False

    def __init__(self, token: str):
        self._token = token

    def current(self) -> str:
        return self._token

    def known(self) -> str:
        return self._token

    def renew(self) -> str:
        return self._token


class AppInstallation:
    """The installation token of a GitHub App on one org, fetched when first needed and renewed before it expires
    (thread-safe: the timeline workers share it)."""

    renewable = True

    def __init__(
        self,
        base_url: str,
        app_id: str,
        private_key: str,
        org: str,
        installation_id: str | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.base_url, self.app_id, self.org = base_url, app_id, org
        self._private_key = private_key
        self.installation_id = installation_id
        self.clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.renewals = 0
        self.app_jwt()  # a key that cannot sign is a configuration error now, not a failure mid-run

    def app_jwt(self) -> str:
        import jwt

        now = int(self.clock())
        claims = {"iat": now - JWT_BACKDATE_SECONDS, "exp": now + JWT_LIFETIME_SECONDS, "iss": self.app_id}
        try:
            return jwt.encode(claims, self._private_key, algorithm="RS256")
        except (ValueError, TypeError, jwt.PyJWTError) as error:
            raise ConfigError(
                f"the GitHub App's private key cannot sign (GITHUB_APP_PRIVATE_KEY_FILE, or the SSM parameter "
                f"app_private_key): {type(error).__name__}; give the .pem file GitHub generated for the App"
            ) from None

    def known(self) -> str | None:
        """The token held now, without asking GitHub (for hiding it in error text)."""
        return self._token

    def current(self) -> str:
        with self._lock:
            if self._token is None or self.clock() >= self._expires_at - RENEW_BEFORE_SECONDS:
                self._fetch()
            return self._token

    def renew(self) -> str:
        with self._lock:
            self._fetch()
            return self._token

    def app_client(self, time_left: Callable[[], float] = lambda: float("inf")):
        """A client that speaks as the App itself (its JWT), for the App's own endpoints (`/app/...`)."""
        from .client import GitHubAPI

        return GitHubAPI(self.base_url, StaticToken(self.app_jwt()), clock=self.clock, time_left=time_left)

    def _fetch(self) -> None:
        app = self.app_client()
        try:
            if self.installation_id is None:
                found = app.get(f"/orgs/{self.org}/installation").data
                self.installation_id = str(found["id"])
            issued = app.request("POST", f"/app/installations/{self.installation_id}/access_tokens").data
        except GitHubAPIError as error:
            raise GitHubAPIError(
                error.status,
                error.url,
                f"the GitHub App {self.app_id} could not get a token for {self.org}: {error.message} (is the App "
                "installed on the org, GITHUB_APP_ID right, and the key the App's?)",
            ) from None
        self._token = issued["token"]
        self._expires_at = datetime.fromisoformat(issued["expires_at"].replace("Z", "+00:00")).timestamp()
        self.renewals += 1
        log.info("GitHub App %s: installation token for %s, expires %s", self.app_id, self.org, issued["expires_at"])


def github_credentials(settings: Settings, quiet: bool = False) -> str | AppInstallation | None:
    """The App's installation when GITHUB_APP_ID is set (it wins over GH_TOKEN, and says so), else the token."""
    if not settings.app_id:
        return get_github_token(quiet=quiet)
    if get_github_token(quiet=True):
        log.info("GITHUB_APP_ID is set: authenticating as the GitHub App %s; GH_TOKEN is not used", settings.app_id)
    return AppInstallation(
        settings.api_url, settings.app_id, get_app_private_key(), settings.org, settings.app_installation_id or None
    )
