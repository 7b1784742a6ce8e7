"""GitHub App authentication as GitHub documents it, for the fake: a JWT signed RS256 with the App's key (issued
at most 60 s ahead of GitHub's clock, expiring no more than 10 minutes after issue) finds the org's installation
and buys installation tokens that expire after an hour; every other request must carry a live installation token,
or GitHub answers 401 "Bad credentials". Answers are GitHub's own examples (the OpenAPI description's), so they
validate against it."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tests import contract

TOKEN_LIFETIME_SECONDS = 3600
BAD_CREDENTIALS = (401, {}, json.dumps({"message": "Bad credentials", "status": "401"}))


def _key_pair() -> tuple[str, object]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()
    return pem, key.public_key()


@dataclass
class FakeApp:
    app_id: str = "123456"
    installation_id: int = 4242
    org: str = "acme"
    clock: Callable[[], float] = time.time
    token_lifetime: float = TOKEN_LIFETIME_SECONDS
    private_key_pem: str = ""
    tokens: dict[str, float] = field(default_factory=dict)  # installation token -> when it expires
    jwt_refusals: list[str] = field(default_factory=list)
    hook: HookLog = None
    _public_key: object = None

    def __post_init__(self):
        self.private_key_pem, self._public_key = _key_pair()
        self.hook = HookLog()

    def revoke_all(self) -> None:
        """Every token issued so far stops working (as when an App's tokens are revoked, or expire early)."""
        self.tokens.clear()

    def answer(self, method: str, path: str, headers: dict, query: dict | None = None) -> tuple[int, dict, str] | None:
        """The App endpoints' answers, a 401 for a request without a live token, or None to go on."""
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        bearer = auth.removeprefix("Bearer ").strip()
        if path.startswith("/app/hook/deliveries"):
            return self._with_jwt(bearer, lambda: self.hook.answer(method, path.removeprefix("/app/hook"), query or {}))
        if path == f"/orgs/{self.org}/installation" and method == "GET":
            return self._with_jwt(bearer, lambda: (200, self._installation()))
        if path == f"/app/installations/{self.installation_id}/access_tokens" and method == "POST":
            return self._with_jwt(bearer, lambda: (201, self._issue()))
        if self.tokens.get(bearer, 0) <= self.clock():
            return BAD_CREDENTIALS
        return None

    def _with_jwt(self, bearer: str, answer) -> tuple[int, dict, str]:
        refusal = self._jwt_refusal(bearer)
        if refusal:
            self.jwt_refusals.append(refusal)
            return 401, {}, json.dumps({"message": refusal})
        status, body = answer()
        return status, {"Content-Type": "application/json"}, json.dumps(body)

    def _jwt_refusal(self, bearer: str) -> str | None:
        import jwt

        try:
            claims = jwt.decode(
                bearer, self._public_key, algorithms=["RS256"], options={"verify_exp": False, "verify_iat": False}
            )
        except jwt.PyJWTError as error:
            return f"A JSON web token could not be decoded ({type(error).__name__})"
        now = self.clock()
        if str(claims.get("iss")) != self.app_id:
            return "'Issuer' claim ('iss') must be the App's id"
        if claims["iat"] > now + 60:
            return "'Issued at' claim ('iat') must be an Integer representing a time in the past"
        if claims["exp"] <= now or claims["exp"] - claims["iat"] > 600:
            return "'Expiration time' claim ('exp') is too far in the future, or past"
        return None

    def _installation(self) -> dict:
        installation = contract.example("installation")
        installation["id"] = self.installation_id
        installation["app_id"] = int(self.app_id)
        return installation

    def _issue(self) -> dict:
        token = "ghs_" + secrets.token_hex(18)
        expires = self.clock() + self.token_lifetime
        self.tokens[token] = expires
        issued = contract.example("installation-token")
        issued.update(token=token, expires_at=datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        return issued


@dataclass
class HookLog:
    """A webhook's recent deliveries, as GitHub lists them (newest first), and the redeliveries asked of it."""

    deliveries: list[dict] = field(default_factory=list)
    redelivered: list[int] = field(default_factory=list)

    def add(self, guid: str, delivered_at: str, status_code: int, event: str = "issues", action: str = "opened"):
        delivery = contract.example("hook-delivery-items")[0]
        delivery.update(
            id=len(self.deliveries) + 1,
            guid=guid,
            delivered_at=delivered_at,
            status_code=status_code,
            status="OK" if status_code < 400 else "Invalid HTTP Response: 503",
            event=event,
            action=action,
        )
        self.deliveries.append(delivery)
        self.deliveries.sort(key=lambda d: d["delivered_at"], reverse=True)

    def answer(self, method: str, path: str, query: dict) -> tuple[int, dict]:
        """`/deliveries` (filtered by `status`) or `/deliveries/{id}/attempts`, below the hook's path."""
        if method == "POST" and path.endswith("/attempts"):
            self.redelivered.append(int(path.split("/")[2]))
            return 202, {}
        failed = query.get("status") == "failure"
        return 200, [d for d in self.deliveries if not failed or d["status_code"] >= 400]
