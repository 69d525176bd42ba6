"""Monitoring fixtures: a real HTTP target on 127.0.0.1 (threaded http.server) whose answers the
tests steer, and loopback allowed through the SSRF guard. Monitors, status pages and runs of the
real scheduler come from tests/monitoring/factories.py."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: dict = {}

    def log_message(self, *args):  # quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/ok":
            self._send(200, b"hello world, all systems go")
        elif path == "/json":
            doc = {"status": "ok", "count": 3, "items": [{"state": "green"}], "ready": True}
            self._send(200, json.dumps(doc).encode(), "application/json")
        elif path.startswith("/status/"):
            self._send(int(path.rsplit("/", 1)[1]), b"status page")
        elif path == "/slow":
            time.sleep(0.3)
            self._send(200, b"slow but fine")
        elif path == "/flip":  # answers what the test put in state["flip"]
            self._send(self.state.get("flip", 200), b"flip")
        elif path == "/redirect-private":
            self.send_response(302)
            self.send_header("Location", "http://10.0.0.1/admin")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/auth":  # Basic user:p@ss (test_url_credentials.py)
            ok = self.headers.get("Authorization") == "Basic dXNlcjpwQHNz"
            self._send(200 if ok else 401, b"welcome" if ok else b"who are you")
        elif path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/ok")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._send(404, b"no such page")

    do_HEAD = do_GET

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self.state.setdefault("posts", []).append((self.path, body))
        self._send(self.state.get("post_status", 200), b"thanks")


@pytest.fixture(scope="session")
def http_target():
    """Base URL of a local HTTP server, and its mutable `state` dict."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield type("Target", (), {"url": base, "state": _Handler.state})
    server.shutdown()


@pytest.fixture(autouse=True)
def _allow_loopback(settings, db):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    _Handler.state.clear()


# Outgoing webhooks: the local receiver fixtures (tests/webhooks/webhook_support.py).
from tests.webhooks.webhook_support import _receiver_server, receiver  # noqa: E402, F401
