"""The daily digest: what waits on the team, with links, by e-mail (SES) and on Slack, at most once a day.

Sent by `daily` when `DIGEST_TO_EMAIL` (with `SEND_FROM_EMAIL`, the SES identity alerts use) or a Slack webhook
is configured. The day is claimed in `sync_state` before anything is sent, so a retried function sends nothing
twice; a send that fails gives the claim back, so the next attempt that day can. Nothing is sent when nothing waits.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable
from datetime import timedelta
from html import escape
from urllib.parse import urlsplit

from .config import get_slack_webhook_url
from .context import JobContext
from .error_text import redact
from .report import ItemLine, Report, build_report, hours_text
from .state import DIGEST_SENT

log = logging.getLogger(__name__)

LOOKBACK = timedelta(days=90)
# Items a digest lists per list (the oldest first); the rest are counted, with the command that lists them all.
DIGEST_ITEMS = 10


def _digest_lists(report: Report) -> list[tuple[str, str, list[ItemLine], int]]:
    """(title, `report.py --list` name, the items shown, how many more) for each list that has items."""
    lists = (("Waiting on us", "waiting", report.waiting_on_us), ("Beyond SLA", "beyond-sla", report.beyond_sla))
    return [
        (title, name, lines[:DIGEST_ITEMS], max(0, len(lines) - DIGEST_ITEMS)) for title, name, lines in lists if lines
    ]


SLACK_TIMEOUT_SECONDS = 10


def send_digest(ctx: JobContext) -> None:
    settings = ctx.settings
    slack = get_slack_webhook_url()
    mail = bool(settings.digest_to_emails and settings.send_from_email)
    if not (mail or slack):
        return
    claim = DIGEST_SENT.of(f"{ctx.started:%Y-%m-%d}")
    if claim.value(ctx.session) is not None:
        return
    today = ctx.started.date()
    report = build_report(ctx.session.get_bind(), today - LOOKBACK, today, list(ctx.repos), settings.sla_hours)
    if not (report.waiting_on_us or report.beyond_sla):
        log.info("digest: nothing waits on a maintainer; nothing sent")
        return
    claim.advance(ctx.session, ctx.started)
    try:
        if mail:
            _mail(ctx, report)
        if slack:
            _post(slack, _text(slack_escaped(_subject(ctx, report)), report, _slack_line))
    except Exception as error:
        claim.clear(ctx.session)
        why = redact(f"{type(error).__name__}: {str(error)[:200]}", (slack,))
        ctx.report.warn(f"the digest could not be sent ({why}); the next run today tries again")
        return
    log.info("digest sent: %d waiting, %d beyond the SLA", len(report.waiting_on_us), len(report.beyond_sla))


def _subject(ctx: JobContext, report: Report) -> str:
    return (
        f"[contributor-metrics {ctx.settings.stage}] {len(report.waiting_on_us)} waiting on us, "
        f"{len(report.beyond_sla)} beyond the {ctx.settings.sla_hours:g} h SLA"
    )


def _line_text(line: ItemLine) -> str:
    return f"- {line.repo}#{line.number} {line.title} ({hours_text(line.hours)}, {line.why}) {line.url}"


def _text(subject: str, report: Report, line_text: Callable[[ItemLine], str] = _line_text) -> str:
    """The digest as text: the subject, then the lists, each line written by `line_text` (plain for the mail's
    text part, Slack's markup for Slack)."""
    parts = [subject, ""]
    for title, name, lines, more in _digest_lists(report):
        parts += [f"{title}:", *map(line_text, lines)]
        parts += [f"- and {more} more: python report.py --list {name}"] if more else []
        parts.append("")
    return "\n".join(parts)


def slack_escaped(text: str) -> str:
    """Text as Slack shows it literally: `&`, `<` and `>` are its control characters (mentions such as
    `<!channel>`, links such as `<url|label>`), so they become entities, and nothing else does."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_link(url: str, label: str) -> str:
    """Slack's link markup, built here from the item URL GitHub gave; a URL that is not a plain https one is
    left out and the label shown as text."""
    if not _plain_https(url):
        return slack_escaped(label)
    return f"<{url}|{slack_escaped(label)}>"


def _plain_https(url: str) -> bool:
    return url.startswith("https://") and not any(character in url for character in "<>|& \t\r\n")


def _slack_line(line: ItemLine) -> str:
    item = slack_link(line.url, f"{line.repo}#{line.number} {line.title}")
    return f"- {item} ({slack_escaped(hours_text(line.hours))}, {slack_escaped(line.why)})"


def _html(ctx: JobContext, report: Report) -> str:
    sections = []
    for title, name, lines, more in _digest_lists(report):
        items = "".join(
            f"<li>{_mail_link(line.url, f'{line.repo}#{line.number} {line.title}')} "
            f"({escape(hours_text(line.hours))}, {escape(line.why)})</li>"
            for line in lines
        )
        if more:
            items += f"<li>and {more} more: <code>python report.py --list {escape(name)}</code></li>"
        sections.append(f"<h3>{escape(title)}</h3><ul>{items}</ul>")
    return f"<p>{escape(_subject(ctx, report))}</p>{''.join(sections)}"


def _mail_link(url: str, label: str) -> str:
    """An HTML link for the mail, to an https item URL only (a `javascript:` or other URL becomes plain text)."""
    if not _plain_https(url):
        return escape(label)
    return f'<a href="{escape(url)}">{escape(label)}</a>'


def _mail(ctx: JobContext, report: Report) -> None:
    import boto3

    boto3.client("ses").send_email(
        Source=ctx.settings.send_from_email,
        Destination={"ToAddresses": list(ctx.settings.digest_to_emails)},
        Message={
            "Subject": {"Data": _subject(ctx, report)},
            "Body": {"Text": {"Data": _text(_subject(ctx, report), report)}, "Html": {"Data": _html(ctx, report)}},
        },
    )


def _post(webhook_url: str, text: str) -> None:
    """A Slack incoming webhook takes {"text": ...}; its URL is a secret and never goes into an error."""
    if not _webhook_url_usable(webhook_url):
        raise RuntimeError(
            "the Slack webhook URL is not an https:// URL (SLACK_WEBHOOK_URL, or the SSM parameter "
            "slack_webhook_url): paste the whole URL Slack gave"
        )
    request = urllib.request.Request(
        webhook_url,
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=SLACK_TIMEOUT_SECONDS) as answer:
            answer.read()
    except (OSError, ValueError) as error:
        reason = getattr(error, "code", None) or type(getattr(error, "reason", error)).__name__
        raise RuntimeError(f"Slack webhook did not take the digest ({reason})") from None


def _webhook_url_usable(url: str) -> bool:
    """https://, or http:// to this machine (a local stand-in); anything else would send the digest in clear or
    nowhere."""
    parts = urlsplit(url)
    local = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")
    return (parts.scheme == "https" or local) and bool(parts.hostname) and not any(c in url for c in " \t\r\n")
