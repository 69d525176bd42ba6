"""A live Quayside (gunicorn on the test database) with a tenant, its callers and their
credentials, for the API contract test.

The data is committed (`transactional_db`), since the server reads it from other connections;
the test therefore runs after every other test of the session (see tests/billing/conftest.py)
and its teardown TRUNCATEs. The server gets a run id of its own: its Redis keys (throttles,
idempotency) and Celery queue are apart from the session's, and its keys are removed at the end."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from apps.core.actor import Actor
from tests.billing.conftest import stripe_api  # noqa: F401  (checkout and portal reach it)
from tests.conftest import _database_url
from tests.deploy.factories import deployed_app

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "contract-Pa55word!"
AUTH_LOGIN = "/api/v1/auth/app/v1/auth/login"


@dataclass
class LiveServer:
    url: str
    tenant_slug: str
    admin_key: str
    member_jwt: str
    operator_jwt: str
    tenant_id: str
    member_membership: str
    app: dict[str, str]  # ids of a deployed app's rows (tests/deploy/factories.py)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _person(email: str, *, staff: bool = False):
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(
        username=email, email=email, password=PASSWORD, is_staff=staff
    )
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
    return user


def _jwt(url: str, email: str) -> str:
    answer = httpx.post(f"{url}{AUTH_LOGIN}", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return answer.json()["meta"]["access_token"]


def _wait_until_up(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer /healthz within 60 s")


@pytest.fixture
def contract_server(transactional_db, stripe_api) -> Iterator[LiveServer]:  # noqa: F811
    from apps.accounts.services import api_key_create
    from apps.tenants.models import Membership, Role
    from apps.tenants.services import tenant_create

    tag = uuid.uuid4().hex[:8]
    owner = _person(f"owner-{tag}@contract.example")
    member = _person(f"member-{tag}@contract.example")
    operator = _person(f"operator-{tag}@contract.example", staff=True)
    tenant = tenant_create(name=f"Contract {tag}", slug=f"contract-{tag}", owner=owner)
    membership = Membership.objects.create(tenant=tenant, user=member, role=Role.MEMBER)
    rows = deployed_app(tenant, owner, name="shop")
    app = {name: str(rows[name].pk) for name in ("app", "release", "deployment", "domain")}
    app["env_key"] = "SECRET_KEY"
    # Far above what the run sends: answers are judged, not the plan's rate.
    tenant.entitlement_overrides = {"api_requests_per_min": 1_000_000}
    tenant.save(update_fields=["entitlement_overrides"])
    _, admin_key = api_key_create(
        tenant=tenant, name="contract", authority="admin", actor=Actor(user=owner, role="owner")
    )

    run_id = f"contract{tag}"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _database_url(),
        "QS_TEST_RUN_ID": run_id,
        # A followed log stream of a finished deployment ends at once; bound it anyway.
        "DEPLOY_LOG_STREAM_MAX_S": "3",
        # The seeded webhook endpoint points at 127.0.0.1 (no outside network in tests).
        "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
    }
    command = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4",
        "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        _wait_until_up(url, process)
        yield LiveServer(
            url=url,
            tenant_slug=tenant.slug,
            admin_key=admin_key,
            member_jwt=_jwt(url, member.email),
            operator_jwt=_jwt(url, operator.email),
            tenant_id=str(tenant.pk),
            member_membership=str(membership.pk),
            app=app,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        _forget_redis_keys(run_id)


def _forget_redis_keys(run_id: str) -> None:
    from apps.core import heartbeat

    client = heartbeat.redis_client()
    for key in client.scan_iter(match=f"*qs-test-{run_id}*"):
        client.delete(key)
    client.delete(f"qs-test-{run_id}")
