"""The HTTP check's own client (httpcore, one guarded connection per check) against a real local
server: what it sends, compressed bodies, charsets, credentials in the URL, redirects."""

from __future__ import annotations

import asyncio
import base64
import gzip
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.core import crypto
from apps.monitoring.checks import CheckSpec, run_check


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list = []

    def log_message(self, *args):
        pass

    def _send(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        self.seen.append((self.command, self.path, dict(self.headers)))
        if self.path == "/gzip":
            self._send(200, gzip.compress(b"all systems go"), Content_Encoding="gzip")
        elif self.path == "/latin1":
            self._send(200, "café ouvert".encode("latin-1"),
                       Content_Type="text/plain; charset=ISO-8859-1")  # fmt: skip
        elif self.path == "/auth":
            expected = "Basic " + base64.b64encode(b"user:p@ss").decode()
            ok = self.headers.get("Authorization") == expected
            self._send(200 if ok else 401, b"welcome" if ok else b"who are you")
        elif self.path == "/elsewhere":  # another origin: localhost, not 127.0.0.1
            port = self.server.server_address[1]
            self._send(302, Location=f"http://localhost:{port}/auth")
        elif self.path == "/here":
            self._send(302, Location=f"http://127.0.0.1:{self.server.server_address[1]}/auth")
        elif self.path == "/loop":
            self._send(302, Location="/loop")
        elif self.path == "/done":
            self._send(200, b"done")
        else:
            self._send(200, b"hello")

    def do_POST(self):
        self.seen.append((self.command, self.path, dict(self.headers)))
        self._send(303, Location="/done")

    do_HEAD = do_GET


@pytest.fixture
def server(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Handler.seen = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _check(url: str, **fields):
    return asyncio.run(run_check(CheckSpec(kind="http", timeout_s=5, url=url, **fields)))


def test_request_headers(server):
    assert _check(server + "/plain?x=1").ok
    ((method, path, headers),) = _Handler.seen
    assert (method, path) == ("GET", "/plain?x=1")
    assert headers["Host"] == server.removeprefix("http://")
    assert headers["Connection"] == "close"  # one connection per check, never reused
    assert headers["User-Agent"].startswith("Quayside-Monitor/")


def test_a_gzip_body_is_decompressed_for_the_keyword(server):
    assert _check(server + "/gzip", keyword="systems go").ok


def test_the_charset_of_the_response_decodes_the_body(server):
    assert _check(server + "/latin1", keyword="café").ok


def test_credentials_in_the_url_are_sent_as_basic_auth(server):
    assert _check(server.replace("http://", "http://user:p%40ss@") + "/auth").ok
    outcome = _check(server + "/auth")
    assert not outcome.ok and outcome.status_code == 401


def test_stored_credentials_go_to_the_monitors_origin_only(server):
    token = crypto.encrypt("user:p%40ss")
    assert _check(server + "/auth", url_credentials_encrypted=token).ok
    assert _check(server + "/here", url_credentials_encrypted=token).ok  # same origin
    outcome = _check(server + "/elsewhere", url_credentials_encrypted=token)
    assert outcome.status_code == 401  # a redirect to another host does not get them
    assert token not in repr(CheckSpec(kind="http", timeout_s=1, url_credentials_encrypted=token))


def test_credentials_no_key_opens_are_a_failure_not_a_crash(server):
    outcome = _check(server + "/auth", url_credentials_encrypted="not-a-token")
    assert not outcome.ok and "cannot be decrypted" in outcome.error


def test_see_other_after_a_post_becomes_a_get(server):
    outcome = _check(server + "/form", method="POST", keyword="done")
    assert outcome.ok, outcome.error
    assert [(m, p) for m, p, _ in _Handler.seen] == [("POST", "/form"), ("GET", "/done")]


def test_a_redirect_loop_is_a_failure(server):
    outcome = _check(server + "/loop")
    assert not outcome.ok and "redirects" in outcome.error


def test_head_reads_no_body(server):
    outcome = _check(server + "/plain", method="HEAD")
    assert outcome.ok and outcome.status_code == 200
