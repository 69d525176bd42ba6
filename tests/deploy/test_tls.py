"""HTTPS through the real Caddy of the runtime, with certificates from its internal CA: a TLS
handshake to a deployed app (verified against the CA's root, SNI = the app's host), no
certificate for names Quayside does not route (unknown hosts, unverified domains), plain HTTP
redirected to HTTPS, and the certificate's state in the API.

Caddy asks Quayside's real ask endpoint (URL, middleware, view) before every certificate. It
is served here by a WSGI server in this process that shares the test's database connection,
so it sees the apps and domains this test made inside its (rolled-back) transaction."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from django.db import connections
from django.test.client import ClientHandler
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.core.actor import Actor
from apps.deploy import selectors, services, tls, tls_ask
from apps.deploy.models import AppDomain
from tests.monitoring.factories import check_once, create

from .conftest import GitRepo, free_port

pytestmark = [pytest.mark.runtime, pytest.mark.django_db]
PAGE = "<h1>hello over TLS</h1>\n"


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


class AskServer:
    """Quayside's URLconf over real HTTP on 127.0.0.1, one request at a time, on this test's
    own database connection (so Caddy's asks see this test's uncommitted rows)."""

    def __init__(self) -> None:
        self.connection = connections["default"]
        self.handler = ClientHandler(enforce_csrf_checks=True)
        self.server: WSGIServer = make_server("127.0.0.1", 0, self.app, handler_class=_Quiet)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def app(self, environ, start_response):
        response = self.handler(environ)
        start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
        return [response.content]

    def _serve(self) -> None:
        connections["default"] = self.connection
        self.server.serve_forever(poll_interval=0.05)

    def __enter__(self):
        self.connection.inc_thread_sharing()
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)
        self.server.server_close()
        self.connection.dec_thread_sharing()


class PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to Caddy on 127.0.0.1 with SNI and Host = the name asked for (no DNS needed)."""

    def connect(self) -> None:
        raw = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


@pytest.fixture
def https(runtime, settings, db):
    """Caddy of the session's runtime with TLS on (internal CA) while the test runs."""
    port = free_port()
    with AskServer() as ask_server:
        settings.DEPLOY_TLS = "internal"
        settings.DEPLOY_HTTPS_LISTEN = f"127.0.0.1:{port}"
        settings.DEPLOY_TLS_ASK_URL = f"{ask_server.url}/internal/tls/ask"
        settings.DEPLOY_TLS_ASK_CACHE_S = 0.0
        tls_ask.forget()
        provider = runtime.provider
        provider.sync_routes(selectors.routes_desired())
        root = tls.local_ca_root()
        deadline = time.monotonic() + 10
        while not root.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            yield Https(port=port, root=root, ask_url=settings.DEPLOY_TLS_ASK_URL)
        finally:
            settings.DEPLOY_TLS = "off"
            provider.sync_routes([])  # the next test loads its own routes


class Https:
    def __init__(self, *, port: int, root: Path, ask_url: str) -> None:
        self.port, self.root, self.ask_url = port, root, ask_url

    def get(self, host: str, path: str = "/") -> tuple[int, str, dict]:
        """(status, body, the server's certificate) over a handshake verified by the CA. A
        connection Caddy closes while it loads a new config (sync_routes just before) is tried
        again, as a browser would; a refused certificate (ssl.SSLError) is not."""
        for attempt in range(3):
            try:
                return self._get(host, path)
            except ssl.SSLCertVerificationError as exc:
                # A certificate issued this very second may start a moment ahead of this
                # process's clock (seen once in CI); any other refusal is the answer.
                if "not yet valid" not in str(exc) or attempt == 2:
                    raise
                time.sleep(1.0)
            except (http.client.RemoteDisconnected, ConnectionResetError):
                if attempt == 2:
                    raise
                time.sleep(0.5)
        raise AssertionError("unreachable")

    def _get(self, host: str, path: str) -> tuple[int, str, dict]:
        context = ssl.create_default_context(cafile=str(self.root))
        connection = PinnedHTTPS(host, self.port, context=context, timeout=10)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read().decode()
            return response.status, body, connection.sock.getpeercert()
        finally:
            connection.close()

    def ask(self, domain: str) -> int:
        """What Quayside answers Caddy about `domain`."""
        url = f"{tls.ask_url()}&domain={domain}"
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(url, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code


def static_site(tmp_path) -> GitRepo:
    repo = GitRepo(tmp_path / "site")
    files: dict[str, str | None] = {"index.html": PAGE}
    files.update(dict.fromkeys(["app.py", "VERSION", "requirements.txt", "Procfile"]))
    repo.commit(files, "a static site")
    return repo


def issuer_of(cert: dict) -> str:
    return dict(field[0] for field in cert["issuer"])["commonName"]


def test_an_app_is_served_over_https_and_an_unknown_host_gets_no_certificate(
    https, deployer, runtime, tmp_path, client_for, world
):
    app = deployer.create(static_site(tmp_path))
    assert deployer.deploy(app).state == "live"
    host = deployer.hostname(app)
    alice = client_for(world["alice"], world["tenant_a"])
    before = alice.get(f"/api/v1/apps/{app.pk}").json()
    assert before["url"] == f"https://{host}:{https.port}/"
    assert before["certificate"] == {"status": "pending", "issuer": None, "not_after": None}

    status, body, cert = https.get(host, "/index.html")
    assert (status, body) == (200, PAGE)
    assert ("DNS", host) in cert["subjectAltName"]
    assert issuer_of(cert).startswith("Caddy Local Authority")

    after = alice.get(f"/api/v1/apps/{app.pk}").json()["certificate"]
    assert after["status"] == "issued"
    assert after["issuer"] == issuer_of(cert)
    assert after["not_after"] > timezone.now().isoformat()

    # A name Quayside does not route: Quayside says no, and Caddy completes no handshake.
    unknown = f"nope{app.name}-alpha.apps.localhost"
    assert https.ask(unknown) == 404 and https.ask(host) == 200
    with pytest.raises(ssl.SSLError):
        https.get(unknown)
    assert not list(https.root.parent.parent.parent.glob(f"certificates/*/{unknown}"))

    # Plain HTTP redirects to the same path and query over HTTPS.
    plain = runtime.get(host, "/a/b?c=1&d=2", follow_redirects=False)
    assert plain.status_code == 308
    assert plain.headers["location"] == f"https://{host}:{https.port}/a/b?c=1&d=2"
    assert runtime.get(unknown, "/").status_code == 404


def test_an_apps_monitor_passes_over_https_when_the_local_ca_is_trusted(
    https, deployer, tmp_path, world, settings
):
    """What local mode does for the monitor each app gets (OUTBOUND_TRUSTED_CA_FILES)."""
    app = deployer.create(static_site(tmp_path))
    assert deployer.deploy(app).state == "live"
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    url = f"https://{deployer.hostname(app)}:{https.port}/"
    monitor = create(world["tenant_a"], kind="http", name="app", url=url, timeout_s=5)

    assert check_once(world["tenant_a"], monitor).status == "down"  # CA not trusted
    settings.OUTBOUND_TRUSTED_CA_FILES = [str(https.root)]
    assert check_once(world["tenant_a"], monitor).status == "up"


def test_only_a_verified_custom_domain_gets_a_certificate(
    https, deployer, runtime, tmp_path, client_for, world
):
    app = deployer.create(static_site(tmp_path))
    assert deployer.deploy(app).state == "live"
    tenant, actor = world["tenant_a"], Actor(user=world["alice"])
    with tenant_context(tenant):
        verified = services.domain_add(
            app=app, tenant=tenant, actor=actor, hostname="www.tls-verified.example"
        )
        services.domain_add(app=app, tenant=tenant, actor=actor, hostname="www.tls-pending.example")
        # What domain_verify records once it finds the TXT record.
        AppDomain.objects.filter(pk=verified.pk).update(
            status="verified", verified_at=timezone.now()
        )
    runtime.provider.sync_routes(selectors.routes_desired())

    status, body, cert = https.get("www.tls-verified.example")
    assert (status, body) == (200, PAGE)
    assert ("DNS", "www.tls-verified.example") in cert["subjectAltName"]
    with pytest.raises(ssl.SSLError):
        https.get("www.tls-pending.example")

    alice = client_for(world["alice"], tenant)
    domains = alice.get(f"/api/v1/apps/{app.pk}/domains").json()["results"]
    states = {d["hostname"]: d["certificate"]["status"] for d in domains}
    assert states == {"www.tls-verified.example": "issued", "www.tls-pending.example": "none"}
