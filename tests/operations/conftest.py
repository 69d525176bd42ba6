"""A live Quayside (gunicorn on the test database) for the MCP client test: a tenant, a monitor
and two API keys (one unrestricted admin key, one agent key limited to `app.list`).

The rows are committed (`transactional_db`: the server reads them from its own connections), so
the test runs after every other test of the session (tests/billing/conftest.py orders tests that
truncate last). The server has a run id of its own for its Redis keys, removed at the end."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import _database_url

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class McpServer:
    url: str
    tenant: object
    admin_key: object
    admin_raw: str
    agent_key: object
    agent_raw: str
    monitor_id: str


def _truncates(item) -> bool:
    marker = item.get_closest_marker("django_db")
    return "transactional_db" in getattr(item, "fixturenames", ()) or bool(
        marker and marker.kwargs.get("transaction")
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    """As tests/billing/conftest.py does (a stable sort: both may run): tests that truncate go
    last, also when only this folder is collected."""
    items.sort(key=_truncates)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def mcp_server(transactional_db) -> Iterator[McpServer]:
    from django.contrib.auth import get_user_model

    from apps.tenants.services import tenant_create
    from tests.monitoring.factories import create
    from tests.operations.factories import make_key

    tag = uuid.uuid4().hex[:8]
    owner = get_user_model().objects.create_user(
        username=f"mcp-{tag}@example.com", email=f"mcp-{tag}@example.com", password="x"
    )
    tenant = tenant_create(name=f"MCP {tag}", slug=f"mcp-{tag}", owner=owner)
    monitor = create(tenant, kind="heartbeat", name="nightly-backup", period_s=3600)
    admin_key, admin_raw = make_key(tenant, owner)
    agent_key, agent_raw = make_key(tenant, owner, authority="member", allowed=["app.list"])

    run_id = f"mcp{tag}"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _database_url(),
        "QS_TEST_RUN_ID": run_id,
    }
    command = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4",
        "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {process.returncode}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer /healthz within 60 s")
            time.sleep(0.2)
        yield McpServer(
            url=url,
            tenant=tenant,
            admin_key=admin_key,
            admin_raw=admin_raw,
            agent_key=agent_key,
            agent_raw=agent_raw,
            monitor_id=str(monitor.pk),
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        from apps.core import heartbeat

        client = heartbeat.redis_client()
        for key in client.scan_iter(match=f"*qs-test-{run_id}*"):
            client.delete(key)
