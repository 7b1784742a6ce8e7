"""The fake GitHub served over HTTP on 127.0.0.1, for the command-line tests and the benchmarks."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.fake.github import FakeGitHub


def serve(fake_factory) -> tuple[FakeGitHub, object]:
    """Serve a FakeGitHub over HTTP on 127.0.0.1 (a free port); returns the fake and the server to shut down."""
    holder: dict[str, FakeGitHub] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.answer("GET", "")

        def do_POST(self):
            self.answer("POST", self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode())

        def answer(self, method: str, request_body: str):
            fake = holder["fake"]
            status, headers, body = fake.handle(method, fake.api + self.path, dict(self.headers), request_body)
            payload = body.encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    holder["fake"] = fake_factory(f"http://127.0.0.1:{server.server_address[1]}")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return holder["fake"], server
