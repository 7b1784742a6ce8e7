"""The daily digest: what waits on the team, with links, by e-mail (SES) and on Slack, at most once a day.

Sent by `daily` when `DIGEST_TO_EMAIL` (with `SEND_FROM_EMAIL`, the SES identity alerts use) or a Slack webhook
is configured. The day is claimed in `sync_state` before anything is sent, so a retried function sends nothing
twice; a send that fails gives the claim back, so the next attempt that day can. Nothing is sent when nothing waits.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from datetime import timedelta
from html import escape

from .config import get_slack_webhook_url
from .context import JobContext
from .report import ItemLine, Report, build_report, hours_text
from .state import DIGEST_SENT

log = logging.getLogger(__name__)

LOOKBACK = timedelta(days=90)
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
            _post(slack, _text(ctx, report))
    except Exception as error:
        claim.clear(ctx.session)
        ctx.report.warn(
            f"the digest could not be sent ({type(error).__name__}: {str(error)[:200]}); the next run today tries again"
        )
        return
    log.info("digest sent: %d waiting, %d beyond the SLA", len(report.waiting_on_us), len(report.beyond_sla))


def _subject(ctx: JobContext, report: Report) -> str:
    return (
        f"[contributor-metrics {ctx.settings.stage}] {len(report.waiting_on_us)} waiting on us, "
        f"{len(report.beyond_sla)} beyond the {ctx.settings.sla_hours:g} h SLA"
    )


def _line_text(line: ItemLine) -> str:
    return f"- {line.repo}#{line.number} {line.title} ({hours_text(line.hours)}, {line.why}) {line.url}"


def _text(ctx: JobContext, report: Report) -> str:
    parts = [_subject(ctx, report), ""]
    for title, lines in (("Waiting on us", report.waiting_on_us), ("Beyond SLA", report.beyond_sla)):
        if lines:
            parts += [f"{title}:", *map(_line_text, lines), ""]
    return "\n".join(parts)


def _html(ctx: JobContext, report: Report) -> str:
    sections = []
    for title, lines in (("Waiting on us", report.waiting_on_us), ("Beyond SLA", report.beyond_sla)):
        if lines:
            items = "".join(
                f"<li><a href='{escape(line.url)}'>{escape(line.repo)}#{line.number} {escape(line.title)}</a> "
                f"({escape(hours_text(line.hours))}, {escape(line.why)})</li>"
                for line in lines
            )
            sections.append(f"<h3>{escape(title)}</h3><ul>{items}</ul>")
    return f"<p>{escape(_subject(ctx, report))}</p>{''.join(sections)}"


def _mail(ctx: JobContext, report: Report) -> None:
    import boto3

    boto3.client("ses").send_email(
        Source=ctx.settings.send_from_email,
        Destination={"ToAddresses": list(ctx.settings.digest_to_emails)},
        Message={
            "Subject": {"Data": _subject(ctx, report)},
            "Body": {"Text": {"Data": _text(ctx, report)}, "Html": {"Data": _html(ctx, report)}},
        },
    )


def _post(webhook_url: str, text: str) -> None:
    """A Slack incoming webhook takes {"text": ...}; its URL is a secret and never goes into an error."""
    request = urllib.request.Request(
        webhook_url,
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=SLACK_TIMEOUT_SECONDS) as answer:
            answer.read()
    except OSError as error:
        raise RuntimeError(f"Slack webhook did not take the digest: {getattr(error, 'reason', error)}") from None
