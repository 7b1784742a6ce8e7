"""The page in S3: `daily` writes the self-contained dashboard to the deployer's bucket (`REPORT_BUCKET`), private
and encrypted at rest, and signs a link to it for the digest.

The object's key is fixed per stage, so a link opens the latest page, and rewriting it is always safe. A presigned
link can outlive neither a week (S3's limit for SigV4) nor the credentials that signed it: signed by the function's
role it dies with the role's session, within hours; signed by the IAM user key in `report_signer` it lasts the week.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from .config import get_report_signer
from .report import Report, as_html

log = logging.getLogger(__name__)

LINK_LIFETIME = timedelta(days=7)


def page_key(stage: str) -> str:
    """Where a stage's page lives in the bucket; the policy grants this prefix only."""
    return f"contributor-metrics/{stage}/report.html"


@dataclass(frozen=True)
class PageLink:
    url: str
    expires: datetime
    # True when signed with temporary credentials: then the link dies with them, before `expires`.
    short_lived: bool


def publish_page(bucket: str, stage: str, report: Report, now: datetime) -> PageLink:
    """Write the page and sign a link to it (raises botocore's errors, which name the bucket and the denial)."""
    import boto3
    from botocore.config import Config

    # Signature version 4, which S3 accepts in every region; it caps a link at a week, the lifetime asked for.
    sigv4 = Config(signature_version="s3v4")
    key = page_key(stage)
    boto3.client("s3").put_object(
        Bucket=bucket,
        Key=key,
        Body=as_html(report).encode(),
        ContentType="text/html; charset=utf-8",
        CacheControl="no-store",
        ServerSideEncryption="AES256",
    )
    signer = get_report_signer()
    if signer:
        session = boto3.Session(aws_access_key_id=signer[0], aws_secret_access_key=signer[1])
    else:
        session = boto3.Session()
    credentials = session.get_credentials()
    short_lived = bool(credentials and credentials.token)
    client = session.client("s3", config=sigv4)
    url = client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=int(LINK_LIFETIME.total_seconds())
    )
    log.info("report page written to s3://%s/%s", bucket, key)
    return PageLink(url, now + LINK_LIFETIME, short_lived)
