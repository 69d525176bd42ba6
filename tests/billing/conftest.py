"""Billing fixtures: a Stripe API on 127.0.0.1 and signed webhook deliveries.

The Stripe API is tests/billing/fake_stripe.py (localstripe plus a shape server for what it
lacks), one process for the whole run with its own state file. The SDK reaches it through
STRIPE_API_BASE, so every Stripe call the code makes is a real HTTP request; nothing in the code
under test is replaced. The port is chosen when this file is imported and the environment set
then, so a Celery worker process started later by any test inherits the same settings.

Tests that need committed data seen by other connections (threads, the worker) use
`transactional_db`. Their teardown TRUNCATEs every table, which would take the session's
`world` tenants with it, so they make their own data and `pytest_collection_modifyitems` runs
them after every other test of the session."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import stripe

from .helpers import STRIPE_ENV, STRIPE_PORT, deliver, stripe_event

ROOT = Path(__file__).resolve().parents[2]


def _truncates(item) -> bool:
    marker = item.get_closest_marker("django_db")
    return "transactional_db" in getattr(item, "fixturenames", ()) or bool(
        marker and marker.kwargs.get("transaction")
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    """Tests that TRUNCATE at teardown run after all others (see the module docstring); after
    pytest-django's own ordering, which would put tests without a database after them."""
    items.sort(key=_truncates)


@pytest.fixture(scope="session")
def stripe_api(tmp_path_factory) -> str:
    state = tmp_path_factory.mktemp("localstripe") / "state.pickle"
    command = [
        sys.executable,
        str(ROOT / "tests" / "billing" / "fake_stripe.py"),
        "--port",
        str(STRIPE_PORT),
        "--state",
        str(state),
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    base = STRIPE_ENV["STRIPE_API_BASE"]
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(f"{base}/_config/shape/requests", timeout=1)
            break
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the fake Stripe API did not start") from None
            time.sleep(0.05)
    yield base
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(autouse=True)
def _stripe_settings(settings, stripe_api):
    for name, value in STRIPE_ENV.items():
        setattr(settings, name, int(value) if value.isdigit() else value)
    settings.BILLING_WEBHOOK_RETRY_BASE_S = 0.2


@pytest.fixture
def sdk(stripe_api) -> stripe.StripeClient:
    """The SDK as a test's own hands at "Stripe" (what Checkout or the dashboard would do)."""
    return stripe.StripeClient(
        STRIPE_ENV["STRIPE_SECRET_KEY"],
        base_addresses={"api": stripe_api},
        http_client=stripe.HTTPXClient(timeout=10, allow_sync_methods=True),
    )


@pytest.fixture
def shape(stripe_api):
    """Test hooks of the fake: its request log and injected faults."""

    class Shape:
        def requests(self) -> list[dict]:
            return httpx.get(f"{stripe_api}/_config/shape/requests").json()

        def fault(self, *, path: str, method: str = "GET", times: int = 1, status: int = 500):
            httpx.post(
                f"{stripe_api}/_config/shape/faults",
                json={"path": path, "method": method, "times": times, "status": status},
            )

        def complete_checkout(self, session_id: str, **changes) -> dict:
            return httpx.post(
                f"{stripe_api}/_config/shape/checkout/{session_id}/complete", json=changes
            ).json()

    return Shape()


@pytest.fixture
def process_delivered():
    """Run the processing of every stored pending event now, as the worker would."""
    from apps.billing.models import EventStatus, StripeEvent
    from apps.billing.stripe_events import stripe_event_process

    def run() -> list[str]:
        pending = StripeEvent.objects.filter(status=EventStatus.PENDING).order_by("pk")
        return [stripe_event_process(event_pk=pk) for pk in pending.values_list("pk", flat=True)]

    return run


@pytest.fixture
def webhook(client, process_delivered):
    """webhook(type, obj, created=...) -> delivers it signed and processes it."""

    def send(event_type: str, obj: dict, *, process: bool = True, **options):
        event = stripe_event(event_type, obj, **options)
        response = deliver(client, event)
        assert response.status_code == 200, response.content
        if process:
            process_delivered()
        return event

    return send


@pytest.fixture
def celery_eager():
    """Tasks sent while it is active run inline (the email task of a dunning notice)."""
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def superuser(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser(
        username="root@example.com", email="root@example.com", password="pw-root"
    )
