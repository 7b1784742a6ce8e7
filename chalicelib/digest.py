"""The daily digest: what waits on the team, with links, by e-mail (SES) and on Slack, at most once a day; and the
page, written to S3 for the digest to link.

Sent by `daily` when `DIGEST_TO_EMAIL` (with `SEND_FROM_EMAIL`, the SES identity alerts use) or a Slack webhook
is configured. The day is claimed in `sync_state` before anything is sent, so a retried function sends nothing
twice; a send that fails gives the claim back, so the next attempt that day can. Nothing is sent when nothing waits.
With `REPORT_BUCKET`, the page is written at every `daily`, and a page that cannot be written leaves the digest
without its link, not unsent.
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
from .publish import PageLink, publish_page
from .report import ItemLine, Report, ReportOptions, build_report, hours_text
from .report.render import responders_text
from .state import DIGEST_SENT

log = logging.getLogger(__name__)

LOOKBACK = timedelta(days=90)
# Items a digest lists per list (the oldest first); the rest are counted, with the command that lists them all.
DIGEST_ITEMS = 10


def _digest_lists(report: Report) -> list[tuple[str, str, list[ItemLine], int]]:
    """(title, `report.py --list` name, the items shown, how many more): the oldest items waiting on us."""
    lines = report.waiting_on_us
    if not lines:
        return []
    return [("Waiting on us, oldest first", "waiting", lines[:DIGEST_ITEMS], max(0, len(lines) - DIGEST_ITEMS))]


SLACK_TIMEOUT_SECONDS = 10


def daily_report(ctx: JobContext) -> Report:
    """The report the digest and the page show: the last 90 days, scoped and measured as the settings say."""
    settings, today = ctx.settings, ctx.started.date()
    options = ReportOptions(
        sla_basis=settings.sla_basis, exclude_users=settings.exclude_users, label_timers=settings.label_timers
    )
    return build_report(ctx.session.get_bind(), today - LOOKBACK, today, list(ctx.repos), settings.sla_hours, options)


def publish_and_send(ctx: JobContext) -> None:
    """Write the page (with REPORT_BUCKET), then send the digest (once a day, when something waits)."""
    settings = ctx.settings
    slack = get_slack_webhook_url()
    mail = bool(settings.digest_to_emails and settings.send_from_email)
    claim = DIGEST_SENT.of(f"{ctx.started:%Y-%m-%d}")
    due = (mail or slack) and claim.value(ctx.session) is None
    if not (due or settings.report_bucket):
        return
    report = daily_report(ctx)
    link = _publish(ctx, report) if settings.report_bucket else None
    if not due:
        return
    if not report.waiting_on_us:
        log.info("digest: nothing waits on a maintainer; nothing sent")
        return
    claim.advance(ctx.session, ctx.started)
    try:
        if mail:
            _mail(ctx, report, link)
        if slack:
            slack_text = _text(slack_escaped(_subject(ctx, report)), report, link, _slack_line, _slack_page)
            _post(slack, slack_text + _responders(ctx, report, slack_escaped))
    except Exception as error:
        claim.clear(ctx.session)
        why = redact(f"{type(error).__name__}: {str(error)[:200]}", (slack,))
        ctx.report.warn(f"the digest could not be sent ({why}); the next run today tries again")
        return
    log.info("digest sent: %d waiting, %d beyond the SLA", len(report.waiting_on_us), len(report.beyond_sla))


def _publish(ctx: JobContext, report: Report) -> PageLink | None:
    bucket = ctx.settings.report_bucket
    try:
        return publish_page(bucket, ctx.settings.stage, report, ctx.started)
    except Exception as error:
        ctx.report.warn(
            f"the report page could not be written to s3://{bucket} ({type(error).__name__}: {str(error)[:200]}); "
            "the digest goes without its link"
        )
        return None


def _subject(ctx: JobContext, report: Report) -> str:
    return (
        f"[contributor-metrics {ctx.settings.stage}] {len(report.waiting_on_us)} waiting on us, "
        f"{len(report.beyond_sla)} beyond the {ctx.settings.sla_hours:g} h SLA to a first {report.answer_word}"
    )


def _lasts(link: PageLink) -> str:
    """How long the link opens the page, said honestly."""
    if link.short_lived:
        return (
            "signed with the function's temporary credentials, so it may stop working within hours; set "
            "report_signer for a week-long link"
        )
    return f"valid until {link.expires:%Y-%m-%d %H:%M} UTC"


def _page_text(link: PageLink) -> str:
    return f"The whole report: {link.url} ({_lasts(link)})"


def _slack_page(link: PageLink) -> str:
    return f"{slack_link(link.url, 'The whole report')} ({slack_escaped(_lasts(link))})"


def _line_text(line: ItemLine) -> str:
    return f"- {line.repo}#{line.number} {line.title} ({hours_text(line.hours)}, {line.why}) {line.url}"


def _text(
    subject: str,
    report: Report,
    link: PageLink | None = None,
    line_text: Callable[[ItemLine], str] = _line_text,
    page_text: Callable[[PageLink], str] = _page_text,
) -> str:
    """The digest as text: the subject, the oldest items waiting, then the link to the page, each line written by
    `line_text` and `page_text` (plain for the mail's text part, Slack's markup for Slack)."""
    parts = [subject, ""]
    for title, name, lines, more in _digest_lists(report):
        parts += [f"{title}:", *map(line_text, lines)]
        if more:
            parts.append(
                f"- and {more} more" + (" in the whole report" if link else f": python report.py --list {name}")
            )
        parts.append("")
    if link:
        parts += [page_text(link), ""]
    return "\n".join(parts)


def _responders(ctx: JobContext, report: Report, escaped: Callable[[str], str] = str) -> str:
    """Who gave the first replies, unless DIGEST_RESPONDERS is off."""
    if not (report.responders and ctx.settings.digest_responders):
        return ""
    return escaped(f"First replies in the last 90 days: {responders_text(report)}") + "\n"


def slack_escaped(text: str) -> str:
    """Text as Slack shows it literally: `&`, `<` and `>` are its control characters (mentions such as
    `<!channel>`, links such as `<url|label>`), so they become entities, and nothing else does."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_link(url: str, label: str) -> str:
    """Slack's link markup, built here from a URL we were given (GitHub's, or the page's presigned one); a URL that
    is not a plain https one is left out and the label shown as text. An `&` in the URL is written `&amp;`, as
    Slack reads it back."""
    if not _plain_https(url):
        return slack_escaped(label)
    return f"<{url.replace('&', '&amp;')}|{slack_escaped(label)}>"


def _plain_https(url: str) -> bool:
    """https://, or http:// to this machine (a local stand-in for S3), with nothing that could end the markup."""
    local = url.startswith(("http://127.0.0.1:", "http://localhost:"))
    return (url.startswith("https://") or local) and not any(character in url for character in "<>| \t\r\n")


def _slack_line(line: ItemLine) -> str:
    item = slack_link(line.url, f"{line.repo}#{line.number} {line.title}")
    return f"- {item} ({slack_escaped(hours_text(line.hours))}, {slack_escaped(line.why)})"


def _html(ctx: JobContext, report: Report, link: PageLink | None) -> str:
    sections = []
    for title, name, lines, more in _digest_lists(report):
        items = "".join(
            f"<li>{_mail_link(line.url, f'{line.repo}#{line.number} {line.title}')} "
            f"({escape(hours_text(line.hours))}, {escape(line.why)})</li>"
            for line in lines
        )
        if more:
            where = "in the whole report" if link else f": <code>python report.py --list {escape(name)}</code>"
            items += f"<li>and {more} more {where}</li>"
        sections.append(f"<h3>{escape(title)}</h3><ul>{items}</ul>")
    page = f"<p>{_mail_link(link.url, 'The whole report')} ({escape(_lasts(link))})</p>" if link else ""
    responders = _responders(ctx, report)
    return f"<p>{escape(_subject(ctx, report))}</p>{''.join(sections)}{page}" + (
        f"<p>{escape(responders)}</p>" if responders else ""
    )


def _mail_link(url: str, label: str) -> str:
    """An HTML link for the mail, to an https item URL only (a `javascript:` or other URL becomes plain text)."""
    if not _plain_https(url):
        return escape(label)
    return f'<a href="{escape(url)}">{escape(label)}</a>'


def _mail(ctx: JobContext, report: Report, link: PageLink | None) -> None:
    import boto3

    boto3.client("ses").send_email(
        Source=ctx.settings.send_from_email,
        Destination={"ToAddresses": list(ctx.settings.digest_to_emails)},
        Message={
            "Subject": {"Data": _subject(ctx, report)},
            "Body": {
                "Text": {"Data": _text(_subject(ctx, report), report, link) + _responders(ctx, report)},
                "Html": {"Data": _html(ctx, report, link)},
            },
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
