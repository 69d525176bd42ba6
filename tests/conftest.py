"""Shared fixtures. The database, Redis and Celery's broker are the real ones.

Tenants and users made here are created once per session (committed); each test runs in a
transaction that is rolled back, so tests can write freely without seeing each other."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from apps.core import heartbeat

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """After pytest-django migrated the test database: render the tenant schema template."""
    from apps.tenants.schema_template import template_build

    with django_db_blocker.unblock():
        template_build()


def _make_user(email: str, *, staff: bool = False):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(
        username=email, email=email, password="pw-" + email, is_staff=staff
    )


@pytest.fixture(scope="session")
def world(django_db_setup, django_db_blocker) -> dict:
    """Two tenants with their owners, an outsider and an operator."""
    from apps.tenants.services import tenant_create

    with django_db_blocker.unblock():
        alice = _make_user("alice@example.com")
        bob = _make_user("bob@example.com")
        outsider = _make_user("charlie@example.com")
        operator = _make_user("operator@example.com", staff=True)
        tenant_a = tenant_create(name="Alpha", slug="alpha", owner=alice)
        tenant_b = tenant_create(name="Bravo", slug="bravo", owner=bob)
    return {
        "alice": alice,
        "bob": bob,
        "outsider": outsider,
        "operator": operator,
        "tenant_a": tenant_a,
        "tenant_b": tenant_b,
    }


@pytest.fixture(autouse=True)
def _public_schema_after_test():
    yield
    connection.set_schema_to_public()


@pytest.fixture(autouse=True)
def _world_tenants_as_stored(request, django_db_blocker):
    """`world` is shared by the whole session, but a test's writes are rolled back: a service
    that changed a world tenant in memory (its plan's entitlements, its status) must not leak
    into the next test's limits. (This teardown may run after the test's `db` one, which blocks
    the database again: hence unblock.)"""
    yield
    if "world" in request.fixturenames:
        world = request.getfixturevalue("world")
        with django_db_blocker.unblock():
            for key in ("tenant_a", "tenant_b"):
                with contextlib.suppress(world[key].DoesNotExist):
                    world[key].refresh_from_db()


@pytest.fixture(autouse=True)
def _forget_operator_entries():
    """Operator entries are audited once an hour (a Redis key says so); the audit rows of earlier
    tests were rolled back, so their keys must go too."""
    client = heartbeat.redis_client()
    for key in client.scan_iter(
        match=f"*{settings.CACHES['default']['KEY_PREFIX']}*operator-entry*"
    ):
        client.delete(key)


class TenantAPIClient(APIClient):
    """Sends X-Tenant-ID with every request, as django-tenants' TenantClient sends the host."""

    def __init__(self, tenant=None, **defaults):
        super().__init__(**defaults)
        if tenant is not None:
            self.defaults["HTTP_X_TENANT_ID"] = tenant.slug


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for(db):
    """client_for(user, tenant=None): an API client logged in as `user`."""

    def make(user, tenant=None) -> TenantAPIClient:
        client = TenantAPIClient(tenant)
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup) -> Iterator[subprocess.Popen]:
    """A real `celery worker` process on this run's own queue, started once when first asked."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "QS_TEST_RUN_ID": settings.CACHES["default"]["KEY_PREFIX"].removeprefix("qs-test-"),
        "DATABASE_URL": _database_url(),
    }
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker",
        "-Q", settings.CELERY_TASK_DEFAULT_QUEUE, "-P", "solo", "-c", "1",
        "--without-mingle", "--without-gossip", "-l", "warning",
        "-n", f"test-{os.getpid()}@%h",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"celery worker exited with {process.returncode}")
        if heartbeat.heartbeats():
            break
        time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError("celery worker did not write a heartbeat within 60 s")
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def _database_url() -> str:
    params = connection.settings_dict
    user = params.get("USER") or ""
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return (
        f"postgres://{auth}{params.get('HOST') or ''}:{params.get('PORT') or 5432}/{params['NAME']}"
    )


@pytest.fixture(scope="session")
def runtime(django_db_setup):
    """The real local runtime (supervisord + Caddy, the sandbox on), started once for the whole
    suite when a test first asks for it (tests/deploy/conftest.py, runtime_session)."""
    from tests.deploy.conftest import runtime_session

    yield from runtime_session()


@pytest.fixture(autouse=True)
def _runtime_settings_pinned(request):
    """A test that uses the runtime runs with the runtime's settings (its directory, port,
    health gate), whatever an earlier test's settings layers left: seen in full runs, where the
    last runtime tests deployed into another directory and read Caddy's 'No such app'."""
    if "runtime" not in request.fixturenames:
        yield
        return
    runtime = request.getfixturevalue("runtime")
    overrides = getattr(runtime, "overrides", None)  # a module's own `runtime` (scripted) has none
    if not overrides:
        yield
        return
    settings_fixture = request.getfixturevalue("settings")
    for name, value in overrides.items():
        setattr(settings_fixture, name, value)
    yield
