"""Every wait inside the deadline, runs that resume, runs killed from outside, jobs that cannot start."""

import re
import threading
import time
from datetime import datetime, timedelta
from urllib.parse import unquote_plus

import pytest
import responses

from chalicelib.context import Deadline
from chalicelib.db import create_db_session
from chalicelib.github import GitHubAPI, GitHubAPIError, OutOfTime, transport
from chalicelib.models import Event, JobRun, PullRequest, SyncState
from chalicelib.runner import JobCouldNotStart, run_job
from chalicelib.search import progress_cursor
from chalicelib.state import ITEMS, ITEMS_WINDOWS
from tests.fake import commented
from tests.helpers import ALICE, TEST_API, ago, closed_pull_requests, count, fetch, mails_sent, rows


class LambdaContext:
    """A Lambda context whose remaining time drops with every request of a kind (by default none)."""

    def __init__(self, seconds: float, per_request: float = 0.0, on: str = ""):
        self.seconds, self.per_request, self.on = seconds, per_request, on

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)

    def spend(self, path: str) -> None:
        if self.on in path:
            self.seconds -= self.per_request


def test_an_exhausted_core_bucket_ends_the_run_partial_instead_of_sleeping_past_the_deadline(
    github, app_env, slept, monkeypatch
):
    monkeypatch.setenv("TIMELINE_WORKERS", "1")
    monkeypatch.setenv("EVENTS_SOURCE", "timelines")
    for number in (1, 2):
        github.new_item("widgets", number, item_id=number, author=ALICE, created=ago(hours=5))
        github.timelines[number] = [commented(100 + number, ALICE, ago(hours=4))]

    def exhaust_core_on_first_timeline(path: str) -> None:
        if path.endswith("/timeline"):
            github.core_exhausted_until = datetime.now().timestamp() + 3600

    github.on_request = exhaust_core_on_first_timeline
    context = run_job("nrt_events", lambda_context=LambdaContext(300))
    [run] = rows(app_env, JobRun)
    assert run.status == "partial" and context.report.stopped_early
    assert "rate limit is used up" in " ".join(run.counts["warnings"])
    assert all(wait < 300 for wait in slept)
    assert count(app_env, Event) == 1


def test_a_retry_after_longer_than_the_time_left_is_not_slept(clock):
    with responses.RequestsMock() as mocked:
        mocked.get(
            f"{TEST_API}/orgs/acme/repos", status=429, headers={"retry-after": "120"}, json={"message": "slow down"}
        )
        client = GitHubAPI(TEST_API, "ghp_x", sleep=clock.sleep, clock=clock, time_left=lambda: 60.0)
        with pytest.raises(OutOfTime, match="120s to wait but 60s left"):
            client.list_repos("acme")
    assert clock.sleeps == []


def stored_whole_until(db_url: str) -> datetime | None:
    """How far every_30_min's closed-PR search has been stored whole (its progress cursor)."""
    session = create_db_session(db_url)
    try:
        return progress_cursor(ITEMS_WINDOWS, "closed", "repo:acme/widgets repo:acme/gadgets is:pr").value(session)
    finally:
        session.close()


def window_end(request_line: str) -> datetime | None:
    found = re.search(r"closed:[^.]+\.\.(\S+?Z)", unquote_plus(request_line))
    return datetime.fromisoformat(found.group(1).replace("Z", "+00:00")).replace(tzinfo=None) if found else None


def test_a_first_run_too_big_for_one_lambda_finishes_over_several_runs(github, app_env, slept):
    closed_pull_requests(github, 1500)
    runs, repeated = 0, []
    while True:
        runs += 1
        stored_before = stored_whole_until(app_env) if runs > 1 else None
        asked_before = len(github.log)
        context = LambdaContext(seconds=60, per_request=5, on="/search/issues")
        github.on_request = context.spend
        run_job("every_30_min", lambda_context=context)
        ends = [window_end(line) for line in github.log[asked_before:] if "is%3Apr" in line]
        repeated += [end for end in ends if stored_before and end and end <= stored_before]
        if fetch(app_env, SyncState, ITEMS.name) is not None or runs == 10:
            break
    assert 1 < runs < 10
    assert count(app_env, PullRequest) == 1500
    statuses = [run.status for run in rows(app_env, JobRun)]
    assert statuses[-1] == "ok" and set(statuses[:-1]) == {"partial"}
    assert repeated == [], "a window stored whole is never asked again (only one a run was cut short in)"


def test_a_run_killed_from_outside_is_marked_abandoned_and_alerted_once(ses, alerts_on, github, invoke, app_env):
    session = create_db_session(app_env)
    from chalicelib.models import create_all

    create_all(app_env)
    session.add(
        JobRun(job="every_30_min", stage="dev", status="running", started_at=datetime.utcnow() - timedelta(hours=1))
    )
    session.commit()
    session.close()
    invoke("every_30_min")
    killed, this_run = rows(app_env, JobRun)
    assert killed.status == "abandoned" and "killed from outside" in killed.error
    assert this_run.status == "ok"
    assert mails_sent(ses) == 1


def a_running_backfill(db_url: str, beat_minutes_ago: float | None) -> None:
    """A backfill that started an hour ago and is still `running`, its last heartbeat that long ago (or none)."""
    from chalicelib.models import create_all

    create_all(db_url)
    now = datetime.utcnow()
    beat = now - timedelta(minutes=beat_minutes_ago) if beat_minutes_ago is not None else None
    session = create_db_session(db_url)
    session.add(JobRun(job="backfill", status="running", started_at=now - timedelta(hours=1), heartbeat_at=beat))
    session.commit()
    session.close()


def test_a_long_backfill_that_still_beats_is_not_called_abandoned(ses, alerts_on, github, app_env, slept):
    import backfill

    a_running_backfill(app_env, beat_minutes_ago=1)
    assert backfill.main(["--since", "7d", "--repos", "widgets"]) == 0
    long_one, this_run = rows(app_env, JobRun)
    assert long_one.status == "running" and this_run.status == "ok"
    assert mails_sent(ses) == 0


def test_a_backfill_whose_heartbeat_stopped_is_abandoned(ses, alerts_on, github, app_env, slept):
    import backfill

    a_running_backfill(app_env, beat_minutes_ago=20)
    assert backfill.main(["--since", "7d", "--repos", "widgets"]) == 0
    killed, _ = rows(app_env, JobRun)
    assert killed.status == "abandoned" and "killed from outside" in killed.error


def test_a_running_job_beats_while_it_works(app_env, github, monkeypatch):
    monkeypatch.setattr("chalicelib.runner.HEARTBEAT_SECONDS", 0.05)
    run_job("slow", job=lambda ctx: time.sleep(0.5))
    [run] = rows(app_env, JobRun)
    assert run.heartbeat_at is not None and run.started_at < run.heartbeat_at <= run.finished_at


def test_a_job_that_cannot_start_alerts_once_per_cause(ses, alerts_on, monkeypatch):
    monkeypatch.setenv("GH_TOKEN", "ghp_x")
    monkeypatch.setenv("DB_URL", "postgresql://metrics:pw@127.0.0.1:1/metrics")
    for _ in range(2):
        with pytest.raises(JobCouldNotStart, match="database error"):
            run_job("nrt_events")
    assert mails_sent(ses) == 1


def test_an_answer_larger_than_the_limit_is_an_error(monkeypatch, clock):
    monkeypatch.setattr(transport, "MAX_BODY_BYTES", 1000)
    with responses.RequestsMock() as mocked:
        mocked.get(f"{TEST_API}/orgs/acme/members", body="[" + ",".join(['{"id": 1}'] * 500) + "]")
        with pytest.raises(GitHubAPIError, match="larger than 1000 bytes"):
            GitHubAPI(TEST_API, "ghp_x", sleep=clock.sleep, clock=clock).list_members("acme")


def test_a_link_chain_that_loops_is_an_error(clock):
    with responses.RequestsMock() as mocked:
        page2 = f"{TEST_API}/orgs/acme/members?page=2"
        mocked.get(
            f"{TEST_API}/orgs/acme/members",
            json=[{"id": 1}],
            headers={"Link": f'<{page2}>; rel="next"'},
            match=[responses.matchers.query_param_matcher({"per_page": "100"})],
        )
        mocked.get(page2, json=[{"id": 2}], headers={"Link": f'<{page2}>; rel="next"'})
        with pytest.raises(GitHubAPIError, match="loops back to a page already read"):
            GitHubAPI(TEST_API, "ghp_x", sleep=clock.sleep, clock=clock).list_members("acme")


@pytest.fixture
def dripping_api():
    """An API on 127.0.0.1 whose answer arrives one byte every 0.2 s (every read within any timeout)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    body = b'[{"id": 1}]' + b" " * 200

    class Drip(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for byte in body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass

        def log_message(self, *_):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Drip)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_slowly_dripping_answer_ends_with_the_runs_time(dripping_api):
    deadline = Deadline.after(1.0)
    client = GitHubAPI(dripping_api, "ghp_x", time_left=deadline.remaining, hard_time_left=deadline.remaining)
    started = time.monotonic()
    with pytest.raises(OutOfTime, match="still answering when the run's time ran out"):
        client.list_members("acme")
    assert time.monotonic() - started < 3


def test_a_request_is_bounded_by_the_time_until_the_function_is_killed(dripping_api):
    context = LambdaContext(seconds=2)
    deadline = Deadline.for_run(context, 280)
    client = GitHubAPI(
        dripping_api, "ghp_x", timeout=30, time_left=deadline.remaining, hard_time_left=deadline.hard_remaining
    )
    started = time.monotonic()
    with pytest.raises(OutOfTime):
        client.list_members("acme")
    assert time.monotonic() - started < 4, "not the 30 s request timeout"


@pytest.fixture
def breaking_api():
    """An API on 127.0.0.1 whose first answer breaks off inside its body (the connection closed after 10 of its
    200 bytes); the next is whole."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    body = b'[{"id": 1}]' + b" " * 189
    served = []

    class Breaking(BaseHTTPRequestHandler):
        def do_GET(self):
            served.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body if len(served) > 1 else body[:10])
            self.wfile.flush()
            if len(served) == 1:
                self.close_connection = True

        def log_message(self, *_):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Breaking)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", served
    server.shutdown()


def test_a_connection_broken_inside_an_answer_is_asked_again(breaking_api, clock):
    url, served = breaking_api
    client = GitHubAPI(url, "ghp_x", sleep=clock.sleep, clock=clock)
    assert client.list_members("acme") == [{"id": 1}]
    assert len(served) == 2 and client.stats.retries == 1
