"""Credentials go only to the configured GitHub API, and no error text can carry them."""

import logging
import re

import pytest
from moto import mock_aws

from chalicelib import config
from chalicelib.config import ConfigError
from chalicelib.github import ForeignURL
from chalicelib.models import Event, JobRun
from chalicelib.runner import JobCouldNotStart, JobFailed, run_job
from tests.fake import commented
from tests.helpers import ALICE, TEST_API, TOKEN, ago, count, rows


def requests_to(mock, host: str) -> list:
    return [call for call in mock.calls if host in call.request.url]


def test_a_link_to_another_host_is_refused_and_gets_no_token(mocked, client):
    mocked.assert_all_requests_are_fired = False  # the other host's answer is there to be never asked
    mocked.get(
        f"{TEST_API}/orgs/acme/members", json=[{"id": 1}], headers={"Link": '<https://evil.test/steal>; rel="next"'}
    )
    mocked.get("https://evil.test/steal", json=[])
    with pytest.raises(ForeignURL, match="not on the configured GitHub API"):
        client.list_members("acme")
    assert requests_to(mocked, "evil.test") == []


def test_a_redirect_to_another_port_is_not_followed_with_the_token(mocked, client):
    mocked.assert_all_requests_are_fired = False  # the other host's answer is there to be never asked
    mocked.get(f"{TEST_API}/repos/acme/widgets", status=302, headers={"Location": "https://api.github.test:8443/x"})
    mocked.get("https://api.github.test:8443/x", json={})
    with pytest.raises(ForeignURL):
        client.repo("acme", "widgets")
    assert requests_to(mocked, ":8443") == []


def test_a_redirect_within_the_api_is_followed(mocked, client):
    mocked.get(f"{TEST_API}/repos/acme/old-name", status=301, headers={"Location": f"{TEST_API}/repositories/42"})
    mocked.get(f"{TEST_API}/repositories/42", json={"name": "new-name"})
    assert client.repo("acme", "old-name") == {"name": "new-name"}
    assert mocked.calls[1].request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_a_transfer_location_on_another_host_is_refused(mocked, client):
    mocked.assert_all_requests_are_fired = False  # the other host's answer is there to be never asked
    mocked.get(f"{TEST_API}/repos/acme/widgets/issues/5", status=301, headers={"Location": "http://evil.test/issues/9"})
    mocked.get("http://evil.test/issues/9", json={"id": 9})
    with pytest.raises(ForeignURL):
        client.issue_location(f"{TEST_API}/repos/acme/widgets/issues/5")
    assert requests_to(mocked, "evil.test") == []


def test_a_timeline_url_on_another_host_costs_only_that_item(github, invoke, app_env, monkeypatch):
    monkeypatch.setenv("EVENTS_SOURCE", "timelines")
    github.new_item("widgets", 1, item_id=11, author=ALICE, created=ago(hours=5))
    github.timelines[11] = [commented(901, ALICE, ago(hours=4))]
    hostile = github.new_item("widgets", 2, item_id=12, author=ALICE, created=ago(hours=5))
    hostile["timeline_url"] = "https://evil.test/repos/acme/widgets/issues/2/timeline"
    invoke("nrt_events")
    [run] = rows(app_env, JobRun)
    assert run.status == "ok" and count(app_env, Event, Event.issue_id == 11) == 1
    assert any(
        "/issues/2" in warning and "not on the configured GitHub API" in warning for warning in run.counts["warnings"]
    )
    assert not any("evil.test" in line for line in github.log)


@pytest.mark.parametrize(
    "token, problem", [("ghp_abc\nghp_def", "a line break"), ("ghp_abc def", "a space"), ('"ghp_abcdef"', "'\"'")]
)
def test_a_malformed_token_is_named_but_never_shown(monkeypatch, token, problem):
    monkeypatch.setenv("GH_TOKEN", token)
    with pytest.raises(ConfigError) as raised:
        config.get_github_token()
    assert problem in str(raised.value) and "ghp_abc" not in str(raised.value)


def test_a_malformed_token_stops_the_job_before_any_request(github, app_env, monkeypatch):
    monkeypatch.setenv("GH_TOKEN", "ghp_abcdef\nX-Other: 1")
    with pytest.raises(JobCouldNotStart) as raised:
        run_job("every_30_min")
    assert "a line break" in str(raised.value) and "ghp_abcdef" not in str(raised.value)
    assert github.log == []


def test_a_server_that_echoes_the_token_does_not_get_it_into_job_runs(github, invoke, app_env):
    github.fail_next("/orgs/acme/members", 401)
    github.failure_message = "Bad credentials: ghp_testtoken123"
    with pytest.raises(JobFailed) as raised:
        invoke("every_30_min")
    assert "ghp_testtoken123" not in str(raised.value) and "Bad credentials: ***" in str(raised.value)
    assert count(app_env, JobRun, JobRun.error.contains("ghp_testtoken123")) == 0


def test_dotenv_is_read_from_the_working_directory_only(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("GH_TOKEN=ghp_from_parent\n")
    (tmp_path / "project").mkdir()
    monkeypatch.chdir(tmp_path / "project")
    assert config.get_github_token() is None
    (tmp_path / "project" / ".env").write_text("GH_TOKEN=ghp_from_here\n")
    config.reset_caches()
    assert config.get_github_token() == "ghp_from_here"


@pytest.mark.parametrize(
    "db_url, message",
    [
        ("/var/lib/metrics.db", "not a database URL (a bare path?)"),
        ("postgresql://u:pw@host:notaport/db", "cannot be read as a database URL"),
        ("mysql://u:pw@host/db", "only PostgreSQL and SQLite"),
    ],
)
def test_a_database_url_that_cannot_be_used_is_worded(monkeypatch, db_url, message):
    monkeypatch.setenv("DB_URL", db_url)
    with pytest.raises(ConfigError, match=re.escape(message)) as raised:
        config.get_db_url()
    assert "pw" not in str(raised.value)


def test_a_password_with_an_at_sign_is_hidden_whole(github, monkeypatch):
    monkeypatch.setenv("DB_URL", "postgresql://metrics:s3cr@t-p4ss@127.0.0.1:1/metrics")
    with pytest.raises(JobCouldNotStart) as raised:
        run_job("every_30_min")
    text = str(raised.value)
    assert "metrics:***@127.0.0.1:1/metrics" in text
    assert "s3cr" not in text and "p4ss" not in text


@mock_aws
def test_ssm_values_are_read_again_after_fifteen_minutes(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "contributor-metrics-dev-daily")
    import boto3

    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/contributor-metrics/dev/token", Value="ghp_first", Type="SecureString")
    now = [1000.0]
    monkeypatch.setattr(config.time, "monotonic", lambda: now[0])
    assert config.get_github_token() == "ghp_first"
    ssm.put_parameter(Name="/contributor-metrics/dev/token", Value="ghp_rotated", Type="SecureString", Overwrite=True)
    now[0] += 14 * 60
    assert config.get_github_token() == "ghp_first"
    now[0] += 2 * 60
    assert config.get_github_token() == "ghp_rotated"


def test_the_unauthenticated_warning_names_no_secret(caplog):
    with caplog.at_level(logging.WARNING):
        config.get_github_token()
    assert "GH_TOKEN is not set" in caplog.text
