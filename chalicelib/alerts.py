"""E-mail on a failed job run through SES, once per failure streak (the runner decides when)."""

from __future__ import annotations

import logging

from .config import Settings

log = logging.getLogger(__name__)


def send_failure_alert(settings: Settings, job: str, error: str | None) -> bool:
    """Mail the configured addresses; without SEND_FROM_EMAIL and SEND_TO_EMAIL nothing is sent.

    A failure to send is logged, never raised: the job's own error is what the run reports.
    """
    if not (settings.send_from_email and settings.send_to_emails):
        return False
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    subject = f"[contributor-metrics {settings.stage}] {job} needs attention"
    body = (
        f"The {job} job of contributor-metrics (stage {settings.stage}, org {settings.org}):\n\n"
        f"{error}\n\nThe same trouble is not mailed again until the job has succeeded in between."
    )
    try:
        boto3.client("ses").send_email(
            Source=settings.send_from_email,
            Destination={"ToAddresses": list(settings.send_to_emails)},
            Message={"Subject": {"Data": subject}, "Body": {"Text": {"Data": body}}},
        )
    except (BotoCoreError, ClientError) as send_error:
        log.error("could not mail the failure of %s: %s", job, send_error)
        return False
    return True
