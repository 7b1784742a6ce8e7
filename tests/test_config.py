"""Settings and secrets: defaults, environment, `.env`, SSM in Lambda, and importing app.py offline."""

import logging
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from chalicelib import config
from chalicelib.config import DEFAULT_REPOS, ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_are_the_original_design():
    settings = config.get_settings()
    assert settings.org == "aws-amplify" and settings.repos == DEFAULT_REPOS and len(DEFAULT_REPOS) == 16
    assert settings.api_url == "https://api.github.com" and settings.stage == "dev"
    assert settings.new_items_window == timedelta(days=5)
    assert settings.unmerged_window == timedelta(weeks=52)
    assert config.get_db_url() == config.DEFAULT_DB_URL


def test_environment_overrides_settings(monkeypatch):
    monkeypatch.setenv("GITHUB_REPOS", "widgets, gadgets")
    monkeypatch.setenv("GITHUB_ORG", "acme")
    monkeypatch.setenv("NRT_EVENTS_DAYS", "2")
    monkeypatch.setenv("TRACKED_EVENTS", "commented,closed")
    settings = config.get_settings()
    assert settings.repos == ("widgets", "gadgets") and settings.org == "acme"
    assert settings.nrt_window == timedelta(days=2)
    assert settings.tracked_events == {"commented", "closed"}


def test_star_means_every_repo_of_the_org(monkeypatch):
    monkeypatch.setenv("GITHUB_REPOS", "*")
    assert config.get_settings().all_repos


def test_malformed_number_names_the_variable(monkeypatch):
    monkeypatch.setenv("NEW_ITEMS_DAYS", "five")
    with pytest.raises(ConfigError, match="NEW_ITEMS_DAYS"):
        config.get_settings()


def test_dotenv_file_supplies_local_secrets(tmp_path):
    (tmp_path / ".env").write_text("GH_TOKEN=from-dotenv\nDB_URL=sqlite:///dotenv.db\n")
    assert config.get_github_token() == "from-dotenv"
    assert config.get_db_url() == "sqlite:///dotenv.db"


def test_missing_token_locally_warns_about_unauthenticated_limits(caplog):
    with caplog.at_level(logging.WARNING):
        assert config.get_github_token() is None
    assert "60 core requests per hour" in caplog.text and "10 searches per minute" in caplog.text
    assert "GH_TOKEN" in caplog.text


@mock_aws
def test_lambda_reads_secure_strings_from_ssm(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "contributor-metrics-prod-daily")
    monkeypatch.setenv("STAGE", "prod")
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/contributor-metrics/prod/token", Value="ghp_from_ssm", Type="SecureString")
    ssm.put_parameter(Name="/contributor-metrics/prod/db_url", Value="postgresql://db/metrics", Type="SecureString")
    assert config.get_github_token() == "ghp_from_ssm"
    assert config.get_db_url() == "postgresql+psycopg2://db/metrics"


@mock_aws
def test_missing_ssm_parameter_names_its_path(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "contributor-metrics-dev-daily")
    with pytest.raises(ConfigError) as raised:
        config.get_github_token()
    assert "/contributor-metrics/dev/token" in str(raised.value)
    assert "SecureString" in str(raised.value)


@mock_aws
def test_unreadable_ssm_parameter_names_the_permission(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "contributor-metrics-dev-daily")
    import botocore.client
    from botocore.exceptions import ClientError

    def denied(self, operation, params):
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, operation)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", denied)
    with pytest.raises(ConfigError) as raised:
        config.get_db_url()
    assert "ssm:GetParameter on /contributor-metrics/dev/db_url" in str(raised.value)


@mock_aws
def test_empty_ssm_parameter_is_an_error_not_a_none(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "contributor-metrics-dev-daily")
    boto3.client("ssm").put_parameter(Name="/contributor-metrics/dev/token", Value=" ", Type="SecureString")
    with pytest.raises(ConfigError, match="/contributor-metrics/dev/token is empty"):
        config.get_github_token()


def test_importing_app_needs_no_aws_and_no_network(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
    }
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise RuntimeError('network used at import')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "import app\n"
        "assert sorted(app.app.event_sources, key=str) is not None\n"
        "print('imported', app.app.app_name)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "imported contributor-metrics" in result.stdout


def test_a_changed_environment_is_seen_without_restarting(monkeypatch):
    assert config.get_settings().org == "aws-amplify"
    monkeypatch.setenv("GITHUB_ORG", "acme")
    monkeypatch.setenv("DB_URL", "sqlite:///other.db")
    assert config.get_settings().org == "acme" and config.get_db_url() == "sqlite:///other.db"


@mock_aws
def test_ssm_is_asked_once_per_warm_container(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "contributor-metrics-dev-daily")
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/contributor-metrics/dev/token", Value="first", Type="SecureString")
    assert config.get_github_token() == "first"
    ssm.put_parameter(Name="/contributor-metrics/dev/token", Value="second", Type="SecureString", Overwrite=True)
    assert config.get_github_token() == "first"


@pytest.mark.parametrize(
    "name, value, says",
    [
        ("SYNC_OVERLAP_MINUTES", "-5", "SYNC_OVERLAP_MINUTES must be a whole number of at least 0, got '-5'"),
        ("NEW_ITEMS_DAYS", "-1", "NEW_ITEMS_DAYS must be a whole number of at least 1, got '-1'"),
        ("NRT_EVENTS_DAYS", "0", "NRT_EVENTS_DAYS must be a whole number of at least 1, got '0'"),
        ("UNMERGED_RECONCILE_WEEKS", "-52", "at least 1"),
        ("TIMELINE_WORKERS", "0", "TIMELINE_WORKERS must be a whole number of at least 1"),
        ("GITHUB_API_URL", "http://api.github.com", "must be an https:// URL (http:// only for localhost)"),
        ("GITHUB_API_URL", "api.github.com", "must be a URL like https://api.github.com"),
        ("TRACKED_EVENTS", "commented,labelled", "'labelled' (did you mean 'labeled'?)"),
    ],
)
def test_a_setting_that_would_silently_break_a_sync_is_refused_naming_it(monkeypatch, name, value, says):
    monkeypatch.setenv(name, value)
    with pytest.raises(config.ConfigError, match=re.escape(says)):
        config.get_settings()


def test_every_wrong_setting_is_named_one_line_each(monkeypatch):
    monkeypatch.setenv("SYNC_OVERLAP_MINUTES", "-5")
    monkeypatch.setenv("TRACKED_EVENTS", "labelled")
    with pytest.raises(config.ConfigError) as raised:
        config.get_settings()
    lines = str(raised.value).splitlines()
    assert len(lines) == 2 and lines[0].startswith("SYNC_OVERLAP_MINUTES") and lines[1].startswith("TRACKED_EVENTS")


def test_http_to_this_machine_is_a_local_stand_in_and_allowed(monkeypatch):
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:8080/")
    assert config.get_settings().api_url == "http://127.0.0.1:8080"
