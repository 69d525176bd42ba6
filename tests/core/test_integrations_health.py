"""The operator console's Integrations page: real probes against the real database and Redis, a
local HTTP server standing in for Stripe, and a closed port for a Stripe that is down."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.cache import cache

from apps.core.integrations import CACHE_KEY, integrations_check

pytestmark = pytest.mark.django_db
PAGE = "/admin/core/node/integrations/"


class _Account(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        ok = self.path.startswith("/v1/account") and self.headers.get("Authorization")
        body = json.dumps({"id": "acct_probe", "object": "account"} if ok else {}).encode()
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def fake_stripe():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Account)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def _fresh():
    cache.delete(CACHE_KEY)
    yield
    cache.delete(CACHE_KEY)


def _by_name(health) -> dict:
    return {r["name"]: r for r in health["results"]}


def _stripe(settings, base):
    settings.STRIPE_SECRET_KEY = "sk_test_probe"
    settings.STRIPE_API_BASE = base


def test_page_shows_database_and_redis_ok_and_a_closed_stripe_down(client, world, settings):
    _stripe(settings, f"http://127.0.0.1:{_closed_port()}")
    client.force_login(world["operator"])
    response = client.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-integration="database" data-status="ok"' in html
    assert 'data-integration="redis" data-status="ok"' in html
    assert 'data-integration="stripe" data-status="down"' in html
    results = _by_name(response.context["health"])
    assert results["database"]["latency_ms"] is not None
    assert "PostgreSQL" in results["database"]["message"]
    assert results["email"]["status"] == "degraded"  # tests use the locmem backend
    assert results["caddy"]["status"] in {"ok", "down"}  # no runtime needed for the page


def test_stripe_answering_is_ok_and_unconfigured_says_so(settings, fake_stripe):
    _stripe(settings, fake_stripe)
    stripe = _by_name(integrations_check(refresh=True))["stripe"]
    assert stripe["status"] == "ok", stripe
    assert "acct_probe" in stripe["message"]
    settings.STRIPE_SECRET_KEY = ""
    assert _by_name(integrations_check(refresh=True))["stripe"]["status"] == "not_configured"


def test_results_are_cached_and_each_probe_is_time_boxed(settings):
    settings.INTEGRATION_PROBES = [
        "apps.core.integrations.probe_redis",
        "tests.core.slow_probe.probe_slow",
    ]
    settings.INTEGRATION_PROBE_TIMEOUT_S = 0.3
    first = integrations_check()
    slow = _by_name(first)["slow"]
    assert slow["status"] == "down" and "0.3 s" in slow["message"]
    assert integrations_check() == first  # from the cache
    assert integrations_check(refresh=True)["checked_at"] != first["checked_at"]


def test_smtp_backend_is_probed_with_noop(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _closed_port()
    settings.INTEGRATION_PROBES = ["apps.core.integrations.probe_email"]
    email = _by_name(integrations_check(refresh=True))["email"]
    assert email["status"] == "down" and "ConnectionRefused" in email["message"]


def test_non_staff_cannot_see_it(client, world):
    client.force_login(world["alice"])
    response = client.get(PAGE)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
