"""contributor-metrics: scheduled Lambda functions that copy a GitHub org's activity into PostgreSQL, and the
webhook route and queue consumer that bring changes in as they happen.

`python app.py every_30_min|nrt_events|daily` runs one job once, locally.
"""

import argparse
import json
import logging
import os
import sys

from chalice import Chalice, Response

from chalicelib import queues, repo_work
from chalicelib.cli import configure_cli_logging
from chalicelib.config import FAN_OUT_CONCURRENCY, WEBHOOK_CONCURRENCY
from chalicelib.jobs import JOBS
from chalicelib.runner import JobFailed, RunInputs, run_job
from chalicelib.webhooks import receive
from chalicelib.webhooks.consumer import consume

app = Chalice(app_name="contributor-metrics")
app.log.setLevel(logging.INFO)
logging.getLogger("chalicelib").setLevel(logging.INFO)


@app.schedule("rate(30 minutes)")
def every_30_min(event):
    run_job("every_30_min", lambda_context=event.context)


@app.schedule("rate(10 minutes)")
def nrt_events(event):
    run_job("nrt_events", lambda_context=event.context)


@app.schedule("cron(0 5 * * ? *)")
def daily(event):
    run_job("daily", lambda_context=event.context)


# The queue is the stage's own; chalice reads this file once when it packages or deploys, so deploy with the
# stage in the environment too: `STAGE=prod chalice deploy --stage prod` (docs/deploy.md).
STAGE = os.environ.get("STAGE", "dev")
WEBHOOK_QUEUE = queues.queue_name(STAGE, queues.WEBHOOKS)
# Deliveries applied at once (WEBHOOK_CONCURRENCY) bound the database connections the consumer opens; with
# FAN_OUT=true, daily's and backfill's work runs as messages, FAN_OUT_CONCURRENCY at a time. Both are in
# chalicelib/config.py, which keeps their GitHub requests within GitHub's 100 at once.
FAN_OUT_QUEUE = queues.queue_name(STAGE, queues.REPO_WORK)


@app.route("/github/webhook", methods=["POST"], content_types=["application/json"])
def github_webhook():
    request = app.current_request
    status, answer = receive(request.headers, request.raw_body)
    return Response(body=json.dumps(answer), status_code=status, headers={"Content-Type": "application/json"})


@app.on_sqs_message(queue=WEBHOOK_QUEUE, batch_size=10, maximum_concurrency=WEBHOOK_CONCURRENCY)
def apply_webhooks(event):
    consume([record.body for record in event], lambda_context=event.context)


@app.on_sqs_message(queue=FAN_OUT_QUEUE, batch_size=1, maximum_concurrency=FAN_OUT_CONCURRENCY)
def repo_work_item(event):
    for record in event:
        repo_work.work(record.body, lambda_context=event.context, receipt_handle=record.receipt_handle)


EXAMPLES = """examples:
  python app.py every_30_min       # new and closed issues and PRs, org members, transfers
  python app.py nrt_events         # timeline events of what changed (a token is needed for more than a few)
  DB_URL=postgresql://user:pw@host/db GH_TOKEN=$(gh auth token) python app.py daily

Settings come from the environment or a .env file (GH_TOKEN, DB_URL, GITHUB_ORG, GITHUB_REPOS: see README.md).
Exit status: 0 done (or stopped at the time limit, to be continued by the next run), 1 failed, 2 bad usage."""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="app.py",
        description="Run one contributor-metrics job once, here, as its Lambda function would.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("job", choices=list(JOBS), metavar="|".join(JOBS), help="the job to run")
    parser.add_argument(
        "--unauthenticated", action="store_true", help="no GH_TOKEN on purpose: skip the warning about its limits"
    )
    args = parser.parse_args(argv)
    configure_cli_logging()
    try:
        run_job(args.job, inputs=RunInputs(quiet_without_token=args.unauthenticated))
    except JobFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
