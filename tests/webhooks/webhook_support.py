"""Outgoing webhook test helpers: a real receiver on 127.0.0.1 (threaded http.server) that
records every request and answers what the test planned, and helpers to emit events, run the
real outbox dispatcher and the real deliverer, and make retries due without waiting. Its
fixtures are imported by tests/webhooks/conftest.py (and by other test directories' that
need a receiver)."""

from __future__ import annotations

import contextlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.core import outbox
from apps.core.actor import SYSTEM
from apps.core.models import OutboxEvent
from apps.webhooks import delivery as webhook_delivery
from apps.webhooks import services as webhook_services
from apps.webhooks.due.models import WebhookDue
from apps.webhooks.models import WebhookMessage


@contextlib.contextmanager
def in_tenant(tenant):
    with schema_context(tenant.schema_name):
        yield


class _Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    plans: dict = {}  # path -> statuses to answer in turn (the last one repeats)
    delays: dict = {}  # path -> seconds to take over each answer
    got: list = []  # (path, headers, body)

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.got.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        time.sleep(self.delays.get(self.path, 0))
        plan = self.plans.get(self.path, [200])
        status = plan.pop(0) if len(plan) > 1 else plan[0]
        answer = f"answer {status} ".encode() * 200  # longer than the 1 KB excerpt
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


class Receiver:
    def __init__(self, base: str) -> None:
        self.base = base

    def url(self, path: str = "/hook") -> str:
        return f"{self.base}{path}"

    def plan(self, path: str, *statuses: int) -> None:
        _Receiver.plans[path] = list(statuses)

    def slow(self, path: str, seconds: float) -> None:
        _Receiver.delays[path] = seconds

    def got(self, path: str | None = None) -> list:
        return [g for g in _Receiver.got if path is None or g[0] == path]


@pytest.fixture(scope="session")
def _receiver_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def receiver(_receiver_server, settings):
    settings.OUTBOX_DISPATCH_ON_COMMIT = False
    settings.WEBHOOKS_DELIVER_ON_COMMIT = False
    outbox.consumers.cache_clear()
    _Receiver.plans.clear()
    _Receiver.delays.clear()
    _Receiver.got.clear()
    # Events other tests left behind are not ours to deliver.
    OutboxEvent.objects.filter(dispatched_at__isnull=True).update(dispatched_at=timezone.now())
    yield Receiver(_receiver_server)
    outbox.consumers.cache_clear()


def endpoint_create(tenant, url: str, **fields):
    with in_tenant(tenant):
        return webhook_services.webhook_endpoint_create(
            tenant=tenant, actor=SYSTEM, url=url, **fields
        )


def emit(tenant, type: str = "monitor.down", **data) -> None:
    outbox.event_emit(type=type, data=data or {"monitor_id": "m1"}, tenant=tenant)
    outbox.outbox_dispatch()


def deliver() -> dict:
    return webhook_delivery.run_due(budget_s=20, idle_exit_s=0)


def make_due() -> int:
    """Move every waiting retry to now (instead of waiting minutes)."""
    return WebhookDue.objects.update(due_at=timezone.now())


def messages(tenant, **filters) -> list[WebhookMessage]:
    with in_tenant(tenant):
        return list(WebhookMessage.objects.filter(**filters).order_by("id"))
