import os
import threading
from datetime import timedelta

import boto3
import pytest
import responses
from moto import mock_aws
from sqlalchemy import create_engine, text

from chalicelib import config, queues
from chalicelib.config import Settings
from chalicelib.db import create_db_session, get_engine
from chalicelib.github import GitHubAPI
from tests.fake import FakeGitHub
from tests.helpers import TEST_API, TOKEN

APP_VARIABLES = (
    "GH_TOKEN",
    "DB_URL",
    "GITHUB_API_URL",
    "GITHUB_ORG",
    "GITHUB_REPOS",
    "STAGE",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_ENDPOINT_URL",
    "SEND_FROM_EMAIL",
    "SEND_TO_EMAIL",
    "NEW_ITEMS_DAYS",
    "RECENTLY_CLOSED_WEEKS",
    "UNMERGED_RECONCILE_WEEKS",
    "DAILY_RECONCILE_SINCE",
    "NRT_EVENTS_DAYS",
    "SYNC_OVERLAP_MINUTES",
    "TRACKED_EVENTS",
    "TIMELINE_WORKERS",
    "LOCAL_TIME_BUDGET_SECONDS",
    "AWS_PROFILE",
    "DIGEST_TO_EMAIL",
    "SLACK_WEBHOOK_URL",
    "SLA_HOURS",
    "SLA_BASIS",
    "LABEL_TIMERS",
    "EXCLUDE_USERS",
    "DIGEST_RESPONDERS",
    "REPORT_BUCKET",
    "REPORT_SIGNER",
    "GITHUB_APP_ID",
    "GITHUB_APP_INSTALLATION_ID",
    "GITHUB_APP_PRIVATE_KEY_FILE",
    "GITHUB_WEBHOOK_SECRET",
    "WEBHOOK_QUEUE_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_SESSION_TOKEN",
)


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch, tmp_path):
    """No test sees the developer's variables, `.env`, AWS account or cached secrets."""
    for name in APP_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.chdir(tmp_path)
    config.reset_caches()
    queues.queue_url.cache_clear()
    yield
    config.reset_caches()
    queues.queue_url.cache_clear()


def _postgres_url() -> str:
    url = os.environ.get("TEST_PG_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("TEST_PG_URL is not set: run the tests with `bash tests/run`, which starts PostgreSQL")
        pytest.skip("no PostgreSQL: run `bash tests/run` to start one")
    return url


def fresh_postgres() -> str:
    url = _postgres_url()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    get_engine(url).dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A new, empty database of each kind the app supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/metrics.db"
    return fresh_postgres()


@pytest.fixture
def pg_url():
    return fresh_postgres()


@pytest.fixture
def session_for():
    sessions = []

    def open_session(url):
        sessions.append(create_db_session(url))
        return sessions[-1]

    yield open_session
    for session in sessions:
        session.close()


@pytest.fixture
def session(db_url, session_for):
    """A session on a new database of each kind, its tables created."""
    from chalicelib.models import create_all

    create_all(db_url)
    return session_for(db_url)


@pytest.fixture
def github():
    """The fake GitHub; a test fails if the app asked it for what GitHub's API description lacks, or if the fake
    answered what the description does not allow."""
    fake = FakeGitHub()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake.install(mock)
        yield fake
    departures = sorted(set(fake.contract_violations))
    assert not departures, "departures from GitHub's API description:\n" + "\n".join(departures)


class FakeClock:
    """Time that moves only when the client sleeps, so rate-limit waits are instant and measurable."""

    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def api(github, clock):
    return GitHubAPI(github.api, "ghp_testtoken123", sleep=clock.sleep, clock=clock)


@pytest.fixture
def mocked():
    """`responses` on its own, for client tests that script GitHub's answers one by one; every answer registered
    must be asked for (a test that registers one to be never asked says so)."""
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def client(clock):
    """A client of the scripted API (`mocked`) whose waits are the fake clock's."""
    return GitHubAPI(TEST_API, TOKEN, sleep=clock.sleep, clock=clock)


@pytest.fixture
def settings(github):
    return Settings(org=github.org, repos=("widgets", "gadgets"), api_url=github.api)


@pytest.fixture
def app_env(monkeypatch, github, db_url):
    """The environment a deployed function would have, pointed at the fake GitHub and the test database."""
    monkeypatch.setenv("GITHUB_API_URL", github.api)
    monkeypatch.setenv("GITHUB_ORG", github.org)
    monkeypatch.setenv("GITHUB_REPOS", "widgets,gadgets")
    monkeypatch.setenv("DB_URL", db_url)
    monkeypatch.setenv("GH_TOKEN", "ghp_testtoken123")
    config.reset_caches()
    return db_url


@pytest.fixture
def slept(monkeypatch):
    """Seconds the app asked to sleep; nobody really waits."""
    waits: list[float] = []
    monkeypatch.setattr("time.sleep", waits.append)
    return waits


@pytest.fixture
def invoke(app_env, slept):
    """Invoke a scheduled handler the way EventBridge does, through Chalice's test client."""
    from chalice.test import Client

    import app as application

    def run(job: str):
        with Client(application.app) as client:
            event = client.events.generate_cw_event(
                source="aws.events",
                detail_type="Scheduled Event",
                detail={},
                resources=[f"arn:aws:events:::rule/{job}"],
            )
            return client.lambda_.invoke(job, event)

    return run


ALERT_SENDER, ALERT_RECIPIENT = "alerts@example.com", "maintainers@example.com"


@pytest.fixture
def ses():
    """Moto's SES with a verified sender; requested before `github`, so the fake GitHub's request mock stays in
    front of moto's (which would let unknown URLs through to the network)."""
    with mock_aws():
        client = boto3.client("ses", region_name="us-east-1")
        client.verify_email_identity(EmailAddress=ALERT_SENDER)
        yield client


@pytest.fixture
def alerts_on(monkeypatch):
    monkeypatch.setenv("SEND_FROM_EMAIL", ALERT_SENDER)
    monkeypatch.setenv("SEND_TO_EMAIL", ALERT_RECIPIENT)


@pytest.fixture
def history(db_url):
    """A hand-built history on a new database of each kind (see tests/history.py)."""
    from tests.history import History

    built = History(db_url)
    yield built
    built.session.close()


@pytest.fixture
def report_server(history, db_url, monkeypatch):
    """Starts report.py's server on a free port over the `history` database with one item by an outsider
    (`start(**limits)` overrides report.py's limits); returns its port."""
    import report
    from tests.helpers import OLIVIA
    from tests.history import BASE

    def start(**limits):
        for name, value in limits.items():
            monkeypatch.setattr(report, name, value)
        history.issue(1, OLIVIA)
        history.session.commit()
        monkeypatch.setenv("DB_URL", db_url)
        args = report.parse_args(["--since", (BASE - timedelta(days=1)).date().isoformat()])
        server = report.serve(args, 0, report.prepare_database())
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_address[1]

    servers = []
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
