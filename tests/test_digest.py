"""The daily digest: the lists that wait on the team, by SES and Slack, once a day at most."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from tests.fake import commented
from tests.helpers import MARIA, OLIVIA, ago, mails_sent


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
