"""report.py --serve on hostile input, and a report asked of a database that is not there."""

import concurrent.futures
import http.client
import socket
import time

import pytest

import report as report_command
from tests.helpers import OSCAR


def get(port: int, host: str | None = None) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/", headers={"Host": host or f"127.0.0.1:{port}"})
    answer = connection.getresponse()
    return answer.status, answer.read().decode()


def test_requests_at_the_same_time_all_get_the_page(report_server):
    port = report_server()
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: get(port), range(8)))
    assert [status for status, _ in answers] == [200] * 8
    assert all("timelines read for 1 of 1 outsider items" in body for _, body in answers)


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example:{port}"])
def test_a_request_for_another_host_name_is_refused(report_server, host):
    port = report_server()
    status, body = get(port, host.format(port=port))
    assert status == 421 and "127.0.0.1 and localhost" in body


def test_localhost_by_name_is_served(report_server):
    port = report_server()
    assert get(port, f"localhost:{port}")[0] == 200


def test_a_client_that_sends_nothing_is_dropped(report_server):
    port = report_server(CLIENT_TIMEOUT_SECONDS=0.5)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as idle:
        started = time.monotonic()
        assert idle.recv(1) == b"", "the server closed the connection"
        assert time.monotonic() - started < 5


def test_requests_beyond_the_thread_bound_get_503_at_once(report_server):
    port = report_server(SERVER_THREADS=2, CLIENT_TIMEOUT_SECONDS=5)
    holders = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
    try:
        time.sleep(0.2)
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as third:
            third.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            assert third.recv(100).startswith(b"HTTP/1.1 503")
        assert time.monotonic() - started < 2
    finally:
        for holder in holders:
            holder.close()


def test_a_busy_port_is_named_with_how_to_pick_another(history, db_url, monkeypatch, capsys):
    monkeypatch.setenv("DB_URL", db_url)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert report_command.main(["--serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"port {port} is taken" in err and "--port" in err and "Traceback" not in err


def test_a_report_on_a_database_file_that_does_not_exist_says_so_and_creates_nothing(tmp_path, monkeypatch, capsys):
    missing = tmp_path / "metrics-typo.db"
    monkeypatch.setenv("DB_URL", f"sqlite:///{missing}")
    assert report_command.main(["--format", "table"]) == 2
    assert f"no database at {missing}" in capsys.readouterr().err
    assert not missing.exists()


def get_path(port: int, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path, headers={"Host": f"127.0.0.1:{port}"})
    answer = connection.getresponse()
    return answer.status, answer.read().decode()


def test_the_page_takes_the_reports_options_from_the_query_string(report_server, history):
    history.issue(2, OSCAR, repo="gadgets")
    history.session.commit()
    port = report_server()
    _, everything = get_path(port, "/")
    _, gadgets = get_path(port, "/?repos=gadgets")
    assert "timelines read for 2 of 2 outsider items" in everything
    assert "timelines read for 1 of 1 outsider items" in gadgets and "<td class='repo'>widgets" not in gadgets
    _, stricter = get_path(port, "/?sla=1h")
    assert "SLA 1 h" in stricter


def test_the_page_takes_kind_label_and_excluded_authors_from_the_query_string(report_server, history):
    history.issue(2, OSCAR, labels=["bug"])
    history.pull_request(3, OSCAR)
    history.session.commit()
    port = report_server()
    assert "timelines read for 1 of 1 outsider items" in get_path(port, "/?kind=pr")[1]
    assert "timelines read for 1 of 1 outsider items" in get_path(port, "/?label=bug")[1]
    _, without_oscar = get_path(port, "/?exclude-users=oscar&sort=newest-breach&sla-basis=first_response")
    assert "timelines read for 1 of 1 outsider items" in without_oscar and "a first response" in without_oscar


@pytest.mark.parametrize(
    "query, says",
    [
        ("since=yesterday", "is not a date"),
        ("colour=blue", "unknown option"),
        ("kind=discussion", "kind must be one of issue, pr"),
    ],
)
def test_a_bad_query_string_is_answered_with_the_reason(report_server, query, says):
    status, body = get_path(report_server(), f"/?{query}")
    assert status == 400 and says in body
