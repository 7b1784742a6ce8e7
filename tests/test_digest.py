"""The daily digest: the lists that wait on the team, by SES and Slack, once a day at most."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from tests.fake import commented
from tests.helpers import MARIA, OLIVIA, ago, last_run, mails_sent


@pytest.fixture
def digest_on(alerts_on, monkeypatch):
    monkeypatch.setenv("DIGEST_TO_EMAIL", "team@example.com")


@pytest.fixture
def slack(monkeypatch):
    """A local stand-in for a Slack incoming webhook, on 127.0.0.1; the posted payloads."""
    posted: list[dict] = []

    class Webhook(BaseHTTPRequestHandler):
        def do_POST(self):
            posted.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("SLACK_WEBHOOK_URL", f"http://127.0.0.1:{server.server_address[1]}/services/T0/B0/x")
    yield posted
    server.shutdown()


def unanswered_outsider_issue(github):
    github.members = [MARIA]
    github.new_item("widgets", 1, item_id=11, author=OLIVIA, created=ago(days=4), title="Crash on start")
    github.timelines[11] = [commented(901, OLIVIA, ago(days=3))]


def run_day(invoke):
    invoke("every_30_min")
    invoke("nrt_events")
    invoke("daily")


def sent_bodies() -> list[str]:
    return [message.body for message in ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages]


def test_the_digest_mails_what_waits_with_links(ses, digest_on, github, invoke):
    unanswered_outsider_issue(github)
    run_day(invoke)
    assert mails_sent(ses) == 1
    [body] = sent_bodies()
    assert "widgets#1 Crash on start" in body and "https://github.com/acme/widgets/issues/1" in body


def test_at_most_one_digest_a_day_even_when_retried(ses, digest_on, github, invoke):
    unanswered_outsider_issue(github)
    run_day(invoke)
    invoke("daily")
    assert mails_sent(ses) == 1


def test_nothing_is_sent_when_nothing_waits(ses, digest_on, github, invoke):
    github.members = [MARIA]
    github.new_item("widgets", 1, item_id=11, author=OLIVIA, created=ago(days=4))
    github.timelines[11] = [dict(commented(901, MARIA, ago(days=3)), author_association="MEMBER")]
    run_day(invoke)
    assert mails_sent(ses) == 0


def test_the_digest_is_posted_to_slack(ses, github, invoke, slack):
    unanswered_outsider_issue(github)
    run_day(invoke)
    [payload] = slack
    assert "1 waiting on us" in payload["text"] and "https://github.com/acme/widgets/issues/1" in payload["text"]


HOSTILE_TITLE = "<!channel> Crash & <https://evil.example/reset|Reset your password> <@U123>"


def hostile_outsider_issue(github):
    unanswered_outsider_issue(github)
    github.items[11]["title"] = HOSTILE_TITLE


def test_an_outsiders_title_cannot_ping_the_channel_or_disguise_a_link_in_slack(ses, github, invoke, slack):
    hostile_outsider_issue(github)
    run_day(invoke)
    [payload] = slack
    text = payload["text"]
    assert "<!channel>" not in text and "<@U123>" not in text and "<https://evil.example" not in text
    assert "&lt;!channel&gt; Crash &amp; &lt;https://evil.example/reset|Reset your password&gt;" in text
    link = "<https://github.com/acme/widgets/issues/1|widgets#1 &lt;!channel&gt; Crash"
    assert link in text, "the item's own link is markup we built from the URL GitHub gave"


def test_a_link_that_is_not_https_is_shown_as_text_in_slack_and_in_the_mail(ses, digest_on, github, invoke, slack):
    unanswered_outsider_issue(github)
    github.items[11]["html_url"] = "javascript:alert(1)"
    run_day(invoke)
    [payload] = slack
    assert "javascript:" not in payload["text"].split("widgets#1")[0] and "<javascript" not in payload["text"]
    [mail] = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    assert "javascript:" not in mail.body


def test_the_mail_escapes_an_outsiders_title(ses, digest_on, github, invoke):
    hostile_outsider_issue(github)
    run_day(invoke)
    [mail] = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    assert "<!channel>" not in mail.body and "&lt;!channel&gt;" in mail.body
    assert '<a href="https://github.com/acme/widgets/issues/1">' in mail.body


def test_a_malformed_slack_webhook_url_stays_out_of_warnings(ses, github, invoke, monkeypatch, app_env):
    secret = "hooks.slack.com/services/T0SECRET/B0SECRET/xyzSECRET"
    monkeypatch.setenv("SLACK_WEBHOOK_URL", secret)
    unanswered_outsider_issue(github)
    run_day(invoke)
    run = last_run(app_env, "daily")
    warnings = " ".join(run.counts["warnings"])
    assert "could not be sent" in warnings and "https://" in warnings
    assert "SECRET" not in warnings and "SECRET" not in json.dumps(run.counts)


def test_the_digest_lists_the_ten_oldest_and_counts_the_rest(ses, github, invoke, slack):
    github.members = [MARIA]
    for number in range(1, 13):
        github.new_item("widgets", number, item_id=number, author=OLIVIA, created=ago(days=2, hours=number))
    run_day(invoke)
    [payload] = slack
    text = payload["text"]
    assert "12 waiting on us" in text
    assert text.count("- <https://github.com/acme/widgets/issues/") == 10
    assert "- and 2 more: python report.py --list waiting" in text
    assert "widgets/issues/12|" in text and "widgets/issues/1|" not in text, "the oldest are listed"


@pytest.fixture
def bucket(ses, monkeypatch):
    """A private bucket (moto) named by REPORT_BUCKET."""
    import boto3

    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="team-reports")
    monkeypatch.setenv("REPORT_BUCKET", "team-reports")
    return boto3.client("s3", region_name="us-east-1")


def test_daily_writes_the_page_encrypted_where_the_policy_allows(bucket, github, invoke):
    unanswered_outsider_issue(github)
    run_day(invoke)
    stored = bucket.get_object(Bucket="team-reports", Key="contributor-metrics/dev/report.html")
    page = stored["Body"].read().decode()
    assert stored["ServerSideEncryption"] == "AES256" and stored["ContentType"].startswith("text/html")
    assert "How outside contributors are treated" in page and "widgets/issues/1" in page


@pytest.fixture
def s3_on_this_machine(bucket, monkeypatch):
    """Moto's S3 also served on 127.0.0.1 (the same in-memory buckets), so a presigned link can be opened with a
    plain HTTP client, as a person's browser would."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://{host}:{port}")
    yield
    server.stop()


def test_the_digest_links_the_page_and_the_link_opens_it(
    s3_on_this_machine, digest_on, github, invoke, slack, monkeypatch
):
    import html
    import re
    import urllib.request

    monkeypatch.setenv("AWS_SESSION_TOKEN", "a-role-session")  # as in Lambda: the role's temporary credentials
    unanswered_outsider_issue(github)
    run_day(invoke)
    [body] = sent_bodies()  # the mail's HTML part
    [url] = [html.unescape(found) for found in re.findall(r'<a href="([^"]+)">The whole report</a>', body)]
    assert "X-Amz-Expires=604800" in url and "X-Amz-Security-Token=a-role-session" in url
    assert "may stop working within hours" in body
    with urllib.request.urlopen(url, timeout=10) as opened:
        assert opened.status == 200 and "How outside contributors are treated" in opened.read().decode()
    [payload] = slack
    assert url.replace("&", "&amp;") in payload["text"], "Slack gets the same link, its & written as Slack reads it"


def test_a_link_signed_by_the_report_signer_key_lasts_the_week(bucket, digest_on, github, invoke, slack, monkeypatch):
    monkeypatch.setenv("REPORT_SIGNER", "AKIAEXAMPLEKEY00000:signer-secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    unanswered_outsider_issue(github)
    run_day(invoke)
    [payload] = slack
    assert "AKIAEXAMPLEKEY00000" in payload["text"] and "valid until" in payload["text"]


def test_a_bucket_that_refuses_the_page_leaves_the_digest_without_its_link(
    ses, digest_on, github, invoke, app_env, monkeypatch
):
    monkeypatch.setenv("REPORT_BUCKET", "no-such-bucket")
    unanswered_outsider_issue(github)
    run_day(invoke)
    assert mails_sent(ses) == 1 and "The whole report" not in sent_bodies()[0]
    warnings = " ".join(last_run(app_env, "daily").counts["warnings"])
    assert "could not be written to s3://no-such-bucket" in warnings and "NoSuchBucket" in warnings
