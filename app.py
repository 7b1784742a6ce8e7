"""contributor-metrics: scheduled Lambda functions that copy a GitHub org's activity into PostgreSQL.

`python app.py every_30_min|nrt_events|daily` runs one job once, locally.
"""

import logging
import sys

from chalice import Chalice

from chalicelib.cli import configure_cli_logging
from chalicelib.jobs import JOBS
from chalicelib.runner import JobFailed, run_job

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


def main(argv: list[str]) -> int:
    configure_cli_logging()
    if len(argv) != 1 or argv[0] not in JOBS:
        print(f"usage: python app.py {{{'|'.join(JOBS)}}}", file=sys.stderr)
        return 2
    try:
        run_job(argv[0])
    except JobFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
