"""Operations: failure alerts through SES, structured logs in Lambda, and the job_runs record."""

import json
import logging

import boto3
import pytest
from sqlalchemy import select

from chalicelib.db import create_db_session
from chalicelib.models import JobRun
from chalicelib.runner import JobFailed
from tests.conftest import ALERT_RECIPIENT
from tests.fake import user
from tests.helpers import mails_sent


def fail_members(github, times=1):
    for _ in range(times):
        github.fail_next("/orgs/acme/members", 404)


def test_failed_runs_mail_once_per_failure_streak(ses, alerts_on, github, invoke):
    fail_members(github, 2)
    for _ in range(2):
        with pytest.raises(JobFailed):
            invoke("every_30_min")
    assert mails_sent(ses) == 1
    invoke("every_30_min")
    fail_members(github)
    with pytest.raises(JobFailed):
        invoke("every_30_min")
    assert mails_sent(ses) == 2


def test_without_addresses_a_failure_sends_nothing(ses, github, invoke):
    fail_members(github)
    with pytest.raises(JobFailed, match="404"):
        invoke("every_30_min")
    assert mails_sent(ses) == 0


def test_a_failure_to_send_the_alert_does_not_hide_the_job_error(ses, github, invoke, monkeypatch):
    monkeypatch.setenv("SEND_FROM_EMAIL", "unverified@example.org")
    monkeypatch.setenv("SEND_TO_EMAIL", ALERT_RECIPIENT)
    fail_members(github)
    with pytest.raises(JobFailed, match="GitHub answered 404"):
        invoke("every_30_min")


def test_lambda_logs_one_json_line_per_run_without_the_token(ses, github, invoke, app_env, monkeypatch, caplog):
    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.put_parameter(Name="/contributor-metrics/dev/token", Value="ghp_testtoken123", Type="SecureString")
    ssm.put_parameter(Name="/contributor-metrics/dev/db_url", Value=app_env, Type="SecureString")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "contributor-metrics-dev-every_30_min")
    github.members = [user("alice", 501)]
    with caplog.at_level(logging.INFO, logger="chalicelib.runner"):
        invoke("every_30_min")
    [line] = [r.getMessage() for r in caplog.records if r.name == "chalicelib.runner"]
    record = json.loads(line)
    assert record["job"] == "every_30_min" and record["stage"] == "dev" and record["status"] == "ok"
    assert record["counts"]["tables"]["members"]["inserted"] == 1
    assert record["counts"]["requests"]["search"] >= 1
    assert "ghp_testtoken123" not in caplog.text


def test_job_runs_answers_when_each_job_last_succeeded(github, invoke, app_env):
    invoke("every_30_min")
    fail_members(github)
    with pytest.raises(JobFailed):
        invoke("every_30_min")
    session = create_db_session(app_env)
    runs = session.scalars(select(JobRun).order_by(JobRun.id)).all()
    session.close()
    assert [(r.job, r.status) for r in runs] == [("every_30_min", "ok"), ("every_30_min", "failed")]
    assert runs[0].finished_at >= runs[0].started_at and "404" in runs[1].error
