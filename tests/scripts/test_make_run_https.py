"""`make run` with HTTPS for apps (DEPLOY_TLS=internal, local mode's default): the URLs it
prints are https:// ones with the local CA's root named, Caddy is told where the web server's
ask endpoint is, and the `ready` process waits for the demo app over a TLS handshake verified
against the local CA (here a CA and an HTTPS server of the test's own, where Caddy's would be)."""

from __future__ import annotations

import datetime as dt
import http.server
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import runlocal  # noqa: E402

sys.path.remove(str(ROOT / "scripts"))

BASE_ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PORT": "8000"}
DEMO_HOST = "hello-demo.apps.localhost"


def make_run_env(runtime_dir: Path, **variables: str) -> dict[str, str]:
    environ = {**BASE_ENV, "DEPLOY_RUNTIME_DIR": str(runtime_dir), **variables}
    exports, _warnings = runlocal.run_env(environ)
    return {**environ, **exports}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- a CA and an HTTPS server, where Caddy's would be --------------------------------------------
def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(common_name: str):
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def write_leaf(folder: Path, ca, host: str) -> tuple[Path, Path]:
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = folder / f"{host}.crt", folder / f"{host}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def write_root(path: Path, ca) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(ca[0].public_bytes(serialization.Encoding.PEM))
    return path


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def started() -> Iterator[list]:
    servers: list[http.server.ThreadingHTTPServer] = []
    yield servers
    for server in servers:
        server.shutdown()
        server.server_close()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    tls: ssl.SSLContext | None = None

    def get_request(self):
        sock, address = super().get_request()
        if self.tls is not None:  # the handshake in the request's thread, not the accept loop
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address


def serve(port: int, started: list, tls: tuple[Path, Path] | None = None) -> None:
    server = _Server(("127.0.0.1", port), _Ok)
    if tls:
        server.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.tls.load_cert_chain(*tls)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    started.append(server)


# --- tests ---------------------------------------------------------------------------------------
def test_the_banner_has_https_urls_and_the_local_cas_root(tmp_path):
    exports = make_run_env(tmp_path, PORT="8100", DEPLOY_HTTP_LISTEN="127.0.0.1:8180")

    text = runlocal.banner(exports, demo_app_live=True)

    assert f"https://{DEMO_HOST}:8443/" in text
    assert "https://<app>-<tenant>.apps.localhost:8443/" in text
    assert "plain HTTP on 127.0.0.1:8180 redirects there" in text
    root = tmp_path.resolve() / "caddy/data/pki/authorities/local/root.crt"
    assert f"Local CA        {root}" in text
    custom = make_run_env(tmp_path, DEPLOY_HTTPS_LISTEN="127.0.0.1:9443")
    assert f"https://{DEMO_HOST}:9443/" in runlocal.banner(custom, demo_app_live=True)
    plain = make_run_env(tmp_path, DEPLOY_TLS="off", DEPLOY_HTTP_LISTEN="127.0.0.1:8180")
    assert f"http://{DEMO_HOST}:8180/" in runlocal.banner(plain, demo_app_live=True)
    assert "Local CA" not in runlocal.banner(plain, demo_app_live=True)


@pytest.mark.parametrize(
    ("bind", "asked_at", "allowed"),
    [
        ("", "127.0.0.1", None),
        ("0.0.0.0", "127.0.0.1", None),  # noqa: S104 (what BIND may say)
        ("192.0.2.10", "192.0.2.10", "127.0.0.0/8,::1/128,192.0.2.10"),
    ],
)
def test_caddy_is_told_where_the_web_servers_ask_endpoint_is(tmp_path, bind, asked_at, allowed):
    exports = make_run_env(tmp_path, PORT="8100", BIND=bind)
    assert exports["DEPLOY_TLS_ASK_URL"] == f"http://{asked_at}:8100/internal/tls/ask"
    assert exports.get("DEPLOY_TLS_ASK_ALLOWED_NETWORKS") == allowed


def test_answers_https_verifies_the_certificate_against_the_local_ca(tmp_path, started):
    ca, other_ca = make_ca("Test Local CA"), make_ca("Someone Else")
    port = free_port()
    serve(port, started, tls=write_leaf(tmp_path, ca, DEMO_HOST))
    root, other = write_root(tmp_path / "root.crt", ca), write_root(tmp_path / "x.crt", other_ca)

    assert runlocal.answers_https("127.0.0.1", str(port), DEMO_HOST, root)
    assert not runlocal.answers_https("127.0.0.1", str(port), DEMO_HOST, other)
    assert not runlocal.answers_https("127.0.0.1", str(port), "other.apps.localhost", root)
    assert not runlocal.answers_https("127.0.0.1", str(port), DEMO_HOST, tmp_path / "none.crt")
    assert not runlocal.answers_https("127.0.0.1", str(free_port()), DEMO_HOST, root)


def test_ready_waits_for_the_demo_app_over_https(tmp_path, started):
    web_port, https_port = free_port(), free_port()
    exports = make_run_env(
        tmp_path, PORT=str(web_port), DEPLOY_HTTPS_LISTEN=f"127.0.0.1:{https_port}"
    )
    ca = make_ca("Test Local CA")
    write_root(runlocal.local_ca_root(exports), ca)
    process = subprocess.Popen(
        [sys.executable, "-u", str(ROOT / "scripts" / "runlocal.py"), "ready"],
        env={**os.environ, **exports, "PORT": str(web_port + 500)},
        stdout=subprocess.PIPE,
    )
    fd = process.stdout.fileno()
    os.set_blocking(fd, False)
    output = ""
    try:
        serve(web_port, started)
        serve(https_port, started, tls=write_leaf(tmp_path, ca, DEMO_HOST))
        deadline = time.monotonic() + 15
        while "shows every request and task." not in output and time.monotonic() < deadline:
            try:
                output += os.read(fd, 65536).decode()
            except BlockingIOError:
                time.sleep(0.2)
    finally:
        process.kill()
        process.wait()
        process.stdout.close()

    assert f"Demo app        https://{DEMO_HOST}:{https_port}/" in output
    assert "still deploying" not in output
