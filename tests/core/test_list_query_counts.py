"""The operators' lists of core (/api/v1/admin/nodes, /api/v1/admin/config-variables) cost the
same number of queries with a few rows as with many. (/api/v1/admin/integrations is a fixed set
of probes, not rows.)"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core.config_vars import REGISTRY
from apps.core.models import ConfigVariable, Node


def _count(client, path: str) -> tuple[int, list]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, response.content
    return len(queries), response.json()


def _operator(client_for, world):
    client = client_for(world["operator"])
    client.get("/api/v1/admin/nodes")  # the hourly "operator entry" audit row is written now
    return client


def _nodes(start: int, n: int) -> None:
    now = timezone.now()
    kinds = ("worker", "beat", "web", "runtime")
    Node.objects.bulk_create(
        Node(name=f"qc-{kinds[i % 4]}@host-{i}", kind=kinds[i % 4], hostname=f"host-{i}",
             pid=1000 + i, version="0.1.0", cpu_pct=1.5, memory_rss_bytes=10**8,
             memory_pct=0.5, load_1m=0.3, started_at=now - dt.timedelta(hours=1),
             last_seen_at=now - dt.timedelta(days=i % 3),  # some stale
             details={"healthy": bool(i % 5)})
        for i in range(start, start + n)
    )  # fmt: skip


def test_admin_nodes(client_for, world):
    client = _operator(client_for, world)
    _nodes(0, 3)
    few, body = _count(client, "/api/v1/admin/nodes")
    assert len([row for row in body if row["name"].startswith("qc-")]) == 3
    _nodes(3, 57)
    many, body = _count(client, "/api/v1/admin/nodes")
    assert len([row for row in body if row["name"].startswith("qc-")]) == 60
    assert {row["stale"] for row in body} >= {True, False}
    assert many == few
    stale_few, _ = _count(client, "/api/v1/admin/nodes?stale=true")
    assert stale_few == few


def _overrides(start: int, n: int) -> None:
    """`n` stale overrides (names no longer declared), each set by its own operator, and one
    override of a declared variable."""
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"qc-op{i}@example.com", email=f"qc-op{i}@example.com",
                         is_staff=True)
        for i in range(start, start + n)
    )  # fmt: skip
    ConfigVariable.objects.bulk_create(
        ConfigVariable(name=f"qc.stale_{i:03}", value=i, updated_by=user)
        for i, user in zip(range(start, start + n), users, strict=True)
    )
    declared = sorted(REGISTRY)[start % len(REGISTRY)]
    ConfigVariable.objects.create(
        name=declared, value=REGISTRY[declared].default, updated_by=users[0]
    )


def test_admin_config_variables(client_for, world):
    client = _operator(client_for, world)
    _overrides(0, 3)
    few, body = _count(client, "/api/v1/admin/config-variables")
    assert len([row for row in body if not row["registered"]]) == 3
    _overrides(3, 57)
    many, body = _count(client, "/api/v1/admin/config-variables")
    stale = [row for row in body if not row["registered"]]
    assert len(stale) == 60
    assert len({row["updated_by"] for row in stale}) == 60
    assert sum(row["overridden"] for row in body if row["registered"]) == 2
    assert many == few
