"""The stage's SQS queues, in one place: their names (which the policy and the deploy checklist name too) and
where to send to them. A queue's URL is asked of SQS once per process, not once per message: the webhook route
sends on every delivery."""

from __future__ import annotations

import functools

WEBHOOKS = "webhooks"
REPO_WORK = "repo-work"


def queue_name(stage: str, purpose: str) -> str:
    """`contributor-metrics-{stage}-webhooks` or `-repo-work`: each stage's own queue."""
    return f"contributor-metrics-{stage}-{purpose}"


@functools.lru_cache(maxsize=8)
def queue_url(name: str) -> str:
    return sqs().get_queue_url(QueueName=name)["QueueUrl"]


def sqs():
    import boto3

    return boto3.client("sqs")


def hand_back_later(name: str, receipt_handle: str, seconds: float) -> None:
    """Make a received message visible again only after `seconds` (SQS allows up to 12 hours), so the next
    attempt is not made before what it waits for."""
    sqs().change_message_visibility(
        QueueUrl=queue_url(name), ReceiptHandle=receipt_handle, VisibilityTimeout=min(43_200, max(0, round(seconds)))
    )
