"""The deploy path: `chalice package` per stage, a real `chalice deploy` against moto_server, the IAM policy."""

import fnmatch
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from chalicelib.jobs import JOBS

ROOT = Path(__file__).resolve().parents[1]
SCHEDULES = {"every_30_min": "rate(30 minutes)", "nrt_events": "rate(10 minutes)", "daily": "cron(0 5 * * ? *)"}
CHALICE = [sys.executable, "-c", "import sys; from chalice.cli import main; sys.exit(main())"]


def project_copy(tmp_path: Path) -> Path:
    """The project as a fresh clone has it, so chalice's deployment caches never land in the work tree."""
    target = tmp_path / "project"
    shutil.copytree(
        ROOT,
        target,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            "__pycache__",
            ".pytest_cache",
            ".ruff_cache",
            "deployments",
            "deployed",
            "*.db",
            ".env",
            "results",
        ),
    )
    return target


def chalice(args, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    result = subprocess.run(CHALICE + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def aws_env(**extra) -> dict:
    return {
        **os.environ,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        **extra,
    }


@pytest.mark.deploy
@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_package_has_three_scheduled_functions_with_layer_timeout_and_policy(stage, tmp_path):
    project = project_copy(tmp_path)
    out = tmp_path / "out"
    chalice(["package", "--stage", stage, str(out)], project, aws_env())
    template = json.loads((out / "sam.json").read_text())
    resources = template["Resources"]
    functions = {name: r for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    assert len(functions) == 6, "three scheduled jobs, the webhook consumer, the route and the fan-out consumer"
    layers = [name for name, r in resources.items() if r["Type"] == "AWS::Serverless::LayerVersion"]
    assert len(layers) == 1
    schedules = {}
    policy = json.loads((ROOT / "policy.json").read_text())
    for function in functions.values():
        properties = function["Properties"]
        assert properties["Timeout"] == 300 and properties["MemorySize"] >= 512
        assert {"Ref": layers[0]} in properties["Layers"]
        assert properties["Environment"]["Variables"]["STAGE"] == stage
        handler = properties["Handler"].split(".")[-1]
        for event in properties.get("Events", {}).values():
            if event["Type"] == "Schedule":
                schedules[handler] = event["Properties"]["Schedule"]
        role = resources[properties["Role"]["Fn::GetAtt"][0]]
        [inline] = role["Properties"]["Policies"]
        assert inline["PolicyDocument"]["Statement"] == policy["Statement"]
    assert schedules == SCHEDULES
    ssm = [s for s in policy["Statement"] if s["Action"] == "ssm:GetParameter"]
    assert any(s["Resource"] == f"arn:aws:ssm:*:*:parameter/contributor-metrics/{stage}/*" for s in ssm)


@pytest.mark.deploy
def test_a_stage_in_a_vpc_gets_vpc_config_and_only_the_network_interface_permissions(tmp_path):
    project = project_copy(tmp_path)
    config_path = project / ".chalice" / "config.json"
    config = json.loads(config_path.read_text())
    config["stages"]["prod"].update(
        subnet_ids=["subnet-0a1b2c3d", "subnet-0e4f5a6b"],
        security_group_ids=["sg-0123456789abcdef0"],
        iam_policy_file="../policy-vpc.json",
    )
    config_path.write_text(json.dumps(config))
    out = tmp_path / "out"
    chalice(["package", "--stage", "prod", str(out)], project, aws_env())
    resources = json.loads((out / "sam.json").read_text())["Resources"]
    functions = [r for r in resources.values() if r["Type"] == "AWS::Serverless::Function"]
    plain = json.loads((ROOT / "policy.json").read_text())["Statement"]
    vpc = json.loads((ROOT / "policy-vpc.json").read_text())["Statement"]
    [added] = [statement for statement in vpc if statement not in plain]
    assert [statement for statement in vpc if statement is not added] == plain
    assert set(added["Action"]) == {
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DeleteNetworkInterface",
        "ec2:DescribeSubnets",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    }
    for function in functions:
        properties = function["Properties"]
        assert properties["VpcConfig"] == {
            "SubnetIds": ["subnet-0a1b2c3d", "subnet-0e4f5a6b"],
            "SecurityGroupIds": ["sg-0123456789abcdef0"],
        }
        [inline] = resources[properties["Role"]["Fn::GetAtt"][0]]["Properties"]["Policies"]
        assert inline["PolicyDocument"]["Statement"] == vpc


# The app's functions beyond the scheduled jobs: the webhook queue's consumer, the API Gateway route's handler and
# the fan-out queue's consumer.
WEBHOOK_FUNCTIONS = ("apply_webhooks", "api_handler", "repo_work_item")


def stage_roles(stage: str) -> list[str]:
    """The role chalice makes for each of the app's functions in a stage: contributor-metrics-{stage}-{function}."""
    return [f"arn:aws:iam::*:role/contributor-metrics-{stage}-{name}" for name in [*JOBS, *WEBHOOK_FUNCTIONS]]


@pytest.mark.parametrize("policy_file", ["policy.json", "policy-vpc.json"])
def test_each_stage_reads_only_its_own_parameters_through_its_exact_roles(policy_file):
    policy = json.loads((ROOT / policy_file).read_text())
    for statement in policy["Statement"]:
        if statement["Action"] == "ssm:GetParameter":
            stage = statement["Resource"].split("/contributor-metrics/")[1].split("/")[0]
            assert statement["Condition"]["ArnLike"]["aws:PrincipalArn"] == stage_roles(stage)
    if policy_file == "policy.json":
        assert all(statement["Resource"] != "*" for statement in policy["Statement"])


def as_list(value) -> list[str]:
    return value if isinstance(value, list) else [value]


def granted(policy: dict, action: str, resource: str, role: str) -> bool:
    """Whether a statement allows `action` on `resource` to `role`, with IAM's `*` wildcards."""
    for statement in policy["Statement"]:
        principals = as_list(statement.get("Condition", {}).get("ArnLike", {}).get("aws:PrincipalArn", "*"))
        if (
            action in as_list(statement["Action"])
            and any(fnmatch.fnmatchcase(resource, pattern) for pattern in as_list(statement["Resource"]))
            and any(fnmatch.fnmatchcase(role, pattern) for pattern in principals)
        ):
            return True
    return False


@pytest.mark.parametrize("own, other", [("dev", "devtest"), ("dev", "dev-2"), ("prod", "prod-canary")])
def test_a_stage_whose_name_starts_like_another_gets_nothing_of_it(own, other):
    policy = json.loads((ROOT / "policy.json").read_text())
    logs = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/contributor-metrics-{stage}-daily:log-stream:x"
    parameter = "arn:aws:ssm:us-east-1:123456789012:parameter/contributor-metrics/{stage}/token"
    role = "arn:aws:iam::123456789012:role/contributor-metrics-{stage}-daily"
    assert granted(policy, "logs:PutLogEvents", logs.format(stage=own), role.format(stage=own))
    assert granted(policy, "ssm:GetParameter", parameter.format(stage=own), role.format(stage=own))
    assert not granted(policy, "logs:PutLogEvents", logs.format(stage=other), role.format(stage=other))
    assert not granted(policy, "logs:PutLogEvents", logs.format(stage=own), role.format(stage=other))
    assert not granted(policy, "ssm:GetParameter", parameter.format(stage=own), role.format(stage=other))


def test_the_policy_names_exactly_the_functions_the_app_schedules():
    import app

    scheduled = {name for name, handler in vars(app).items() if name in JOBS and callable(handler)}
    assert scheduled == set(JOBS), "a new function needs its role and log group in policy.json"
    assert {"apply_webhooks", "github_webhook"} <= set(vars(app)), "the route and the consumer the policy names"


@pytest.mark.deploy
@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_webhook_queue_is_the_stages_own_with_bounded_concurrency_and_its_own_grants(stage, tmp_path):
    project = project_copy(tmp_path)
    out = tmp_path / "out"
    chalice(["package", "--stage", stage, str(out)], project, aws_env(STAGE=stage))
    resources = json.loads((out / "sam.json").read_text())["Resources"]
    [source] = resources["ApplyWebhooks"]["Properties"]["Events"].values()
    assert source["Type"] == "SQS" and source["Properties"]["ScalingConfig"] == {"MaximumConcurrency": 5}
    assert source["Properties"]["Queue"]["Fn::Sub"].endswith(f":contributor-metrics-{stage}-webhooks")
    assert resources["RestAPI"]["Type"] == "AWS::Serverless::Api"
    [work] = resources["RepoWorkItem"]["Properties"]["Events"].values()
    assert work["Properties"]["ScalingConfig"] == {"MaximumConcurrency": 10} and work["Properties"]["BatchSize"] == 1
    assert work["Properties"]["Queue"]["Fn::Sub"].endswith(f":contributor-metrics-{stage}-repo-work")
    policy = json.loads((ROOT / "policy.json").read_text())
    queue = f"arn:aws:sqs:us-east-1:123456789012:contributor-metrics-{stage}-webhooks"
    role = f"arn:aws:iam::123456789012:role/contributor-metrics-{stage}-{{}}"
    assert granted(policy, "sqs:SendMessage", queue, role.format("api_handler"))
    assert granted(policy, "sqs:ReceiveMessage", queue, role.format("apply_webhooks"))
    assert granted(policy, "sqs:DeleteMessage", queue, role.format("apply_webhooks"))
    assert not granted(policy, "sqs:SendMessage", queue, role.format("daily"))
    assert not granted(policy, "sqs:ReceiveMessage", queue, role.format("api_handler"))
    other = queue.replace(f"-{stage}-", "-devtest-")
    assert not granted(policy, "sqs:SendMessage", other, role.format("api_handler"))
    work_queue = queue.replace("-webhooks", "-repo-work")
    assert granted(policy, "sqs:SendMessage", work_queue, role.format("daily"))
    assert granted(policy, "sqs:ReceiveMessage", work_queue, role.format("repo_work_item"))
    assert granted(policy, "sqs:ChangeMessageVisibility", work_queue, role.format("repo_work_item")), (
        "a message stopped at the budget's reserve is handed back until the reset"
    )
    assert not granted(policy, "sqs:SendMessage", work_queue, role.format("api_handler"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def moto_server():
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    yield url
    server.terminate()
    server.wait(timeout=10)


ROUTE = '@app.route("/github/webhook", methods=["POST"], content_types=["application/json"])\n'


@pytest.mark.deploy
def test_deploy_to_a_local_aws_emulator_and_delete(moto_server, tmp_path):
    """A real `chalice deploy` against moto: every function, its schedule or queue, its role and policy. moto
    answers ImportRestApi with a 500, so this copy leaves the webhook route out (`chalice package` above shows it)."""
    project = project_copy(tmp_path)
    app_source = (project / "app.py").read_text()
    assert ROUTE in app_source
    (project / "app.py").write_text(app_source.replace(ROUTE, ""))
    env = aws_env(AWS_ENDPOINT_URL=moto_server)
    session = boto3.session.Session(
        region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    for queue in ("contributor-metrics-dev-webhooks", "contributor-metrics-dev-repo-work"):
        session.client("sqs", endpoint_url=moto_server).create_queue(QueueName=queue)
    chalice(["deploy", "--stage", "dev"], project, env)
    lambdas = session.client("lambda", endpoint_url=moto_server)
    events = session.client("events", endpoint_url=moto_server)
    iam = session.client("iam", endpoint_url=moto_server)
    functions = {f["FunctionName"]: f for f in lambdas.list_functions()["Functions"]}
    consumers = {"contributor-metrics-dev-apply_webhooks", "contributor-metrics-dev-repo_work_item"}
    assert set(functions) == {f"contributor-metrics-dev-{job}" for job in SCHEDULES} | consumers
    mappings = {
        m["EventSourceArn"].rsplit(":", 1)[1]: m for m in lambdas.list_event_source_mappings()["EventSourceMappings"]
    }
    assert (
        mappings["contributor-metrics-dev-webhooks"]["FunctionArn"]
        == functions["contributor-metrics-dev-apply_webhooks"]["FunctionArn"]
    )
    assert (
        mappings["contributor-metrics-dev-repo-work"]["FunctionArn"]
        == functions["contributor-metrics-dev-repo_work_item"]["FunctionArn"]
    )
    for job, schedule in SCHEDULES.items():
        name = f"contributor-metrics-dev-{job}"
        assert functions[name]["Timeout"] == 300 and functions[name]["Layers"]
        rule = events.describe_rule(Name=f"{name}-event")
        assert rule["ScheduleExpression"] == schedule
        [target] = events.list_targets_by_rule(Rule=f"{name}-event")["Targets"]
        assert target["Arn"] == functions[name]["FunctionArn"]
        [policy_name] = iam.list_role_policies(RoleName=name)["PolicyNames"]
        document = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
        document = json.loads(document) if isinstance(document, str) else document
        assert document["Statement"] == json.loads((ROOT / "policy.json").read_text())["Statement"]
    chalice(["delete", "--stage", "dev"], project, env)
    assert lambdas.list_functions()["Functions"] == []


def documented_report_statement(bucket: str, stage: str) -> dict:
    """The S3 statement docs/deploy.md tells a deployer to add, for `bucket` and `stage`."""
    text = (ROOT / "docs" / "deploy.md").read_text()
    block = text.split("<!-- report-bucket-statement -->", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    return json.loads(block.replace("my-team-reports", bucket).replace("prod", stage).replace("Prod", stage.title()))


@pytest.mark.deploy
def test_the_report_bucket_statement_grants_the_stages_prefix_only(tmp_path):
    project = project_copy(tmp_path)
    statement = documented_report_statement("team-reports", "dev")
    policy_path = project / "policy.json"
    policy = json.loads(policy_path.read_text())
    policy["Statement"].append(statement)
    policy_path.write_text(json.dumps(policy))
    config_path = project / ".chalice" / "config.json"
    config = json.loads(config_path.read_text())
    config["stages"]["dev"]["environment_variables"]["REPORT_BUCKET"] = "team-reports"
    config_path.write_text(json.dumps(config))
    out = tmp_path / "out"
    chalice(["package", "--stage", "dev", str(out)], project, aws_env())
    resources = json.loads((out / "sam.json").read_text())["Resources"]
    [daily] = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::Serverless::Function" and r["Properties"]["Handler"].endswith(".daily")
    ]
    assert daily["Properties"]["Environment"]["Variables"]["REPORT_BUCKET"] == "team-reports"
    [inline] = resources[daily["Properties"]["Role"]["Fn::GetAtt"][0]]["Properties"]["Policies"]
    packaged = inline["PolicyDocument"]
    role = "arn:aws:iam::*:role/contributor-metrics-dev-{}"
    page = "arn:aws:s3:::team-reports/contributor-metrics/dev/report.html"
    assert granted(packaged, "s3:PutObject", page, role.format("daily"))
    assert granted(packaged, "s3:GetObject", page, role.format("daily"))
    assert not granted(packaged, "s3:PutObject", page, role.format("nrt_events"))
    assert not granted(packaged, "s3:PutObject", "arn:aws:s3:::team-reports/elsewhere/x", role.format("daily"))
    assert not granted(packaged, "s3:PutObject", page.replace("/dev/", "/prod/"), role.format("daily"))
    assert not granted(packaged, "s3:DeleteObject", page, role.format("daily"))
