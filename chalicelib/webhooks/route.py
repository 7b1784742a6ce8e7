"""The webhook route: what GitHub posts is checked and queued, nothing more, so the answer comes well within
GitHub's 10 seconds whatever the database is doing.

A delivery is accepted only with a valid `X-Hub-Signature-256` (HMAC-SHA256 of the raw body with the webhook
secret, compared in constant time); anything else is 401 and goes nowhere. `ping` is answered and not queued; an
event the consumer does not store is answered 202 and not queued. A body larger than SQS takes (256 KB with its
envelope) is queued by reference: the item's (and the comment's) API URL, which the consumer reads again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping

from .. import queues
from ..config import ConfigError, get_settings, secret
from .apply import HANDLED_EVENTS

log = logging.getLogger(__name__)

# GitHub caps a delivery at 25 MB; API Gateway takes 10 MB. A body past this is refused before it is hashed.
MAX_BODY_BYTES = 10 * 1024 * 1024
# SQS takes 256 KiB a message; this leaves room for the envelope and its JSON escaping.
MAX_INLINE_BYTES = 200 * 1024


def webhook_secret() -> str:
    value, source = secret("webhook_secret", "GITHUB_WEBHOOK_SECRET")
    if not value:
        raise ConfigError(f"{source} is not set: the webhook route cannot tell GitHub's deliveries from anyone's")
    return value


def signature_valid(body: bytes, header: str | None, key: str) -> bool:
    """GitHub's `sha256=<hex>` of the raw body, compared in constant time."""
    expected = "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    return bool(header) and hmac.compare_digest(expected, header)


def receive(headers: Mapping[str, str], body: bytes | None) -> tuple[int, dict]:
    """(status, answer) for one POST from GitHub."""
    headers = {name.lower(): value for name, value in headers.items()}
    body = body or b""
    if len(body) > MAX_BODY_BYTES:
        return 413, {"error": f"a delivery larger than {MAX_BODY_BYTES} bytes is not taken"}
    try:
        key = webhook_secret()
    except ConfigError as error:
        log.error("webhook refused: %s", error)
        return 503, {"error": "the webhook secret is not configured"}
    if not signature_valid(body, headers.get("x-hub-signature-256"), key):
        return 401, {"error": "X-Hub-Signature-256 does not match this body and the webhook secret"}
    event, delivery = headers.get("x-github-event", ""), headers.get("x-github-delivery", "")
    if not delivery:
        return 400, {"error": "no X-GitHub-Delivery header"}
    if event == "ping":
        return 200, {"ok": "pong"}
    if event not in HANDLED_EVENTS:
        return 202, {"ignored": f"{event or 'no'} event: not stored"}
    try:
        payload = json.loads(body)
    except ValueError:
        return 400, {"error": "the body is not JSON (set the hook's content type to application/json)"}
    try:
        _enqueue(_message(event, delivery, body, payload))
    except Exception as error:  # SQS or its permissions: GitHub records the failure, and daily asks again
        log.error("webhook delivery %s not queued: %s: %s", delivery, type(error).__name__, str(error)[:200])
        return 503, {"error": "the delivery could not be queued; daily asks GitHub to send it again"}
    return 202, {"queued": delivery}


def _message(event: str, delivery: str, body: bytes, payload: dict) -> dict:
    """The queued message: the payload itself, or, too large for SQS, the URLs to read again (the item's, in the
    issues API, and the comment's)."""
    message = {"delivery": delivery, "event": event, "action": payload.get("action")}
    if len(body) <= MAX_INLINE_BYTES:
        return {**message, "payload": body.decode()}
    item = payload.get("issue") or payload.get("pull_request") or {}
    reference = {
        "issue_url": item.get("issue_url") or item.get("url"),
        "repository": (payload.get("repository") or {}).get("full_name"),
    }
    if event == "issue_comment":
        reference["comment_url"] = (payload.get("comment") or {}).get("url")
    return {**message, **reference}


def _enqueue(message: dict) -> None:
    url = queues.queue_url(queues.queue_name(get_settings().stage, queues.WEBHOOKS))
    queues.sqs().send_message(QueueUrl=url, MessageBody=json.dumps(message))
