"""/api/v1/admin/nodes and /api/v1/admin/integrations: operators only; nodes with their stale
flag, integrations probed for real (the test database and Redis)."""

import datetime as dt

import pytest
from django.utils import timezone

from apps.core.models import Node

pytestmark = pytest.mark.django_db


def _node(name: str, *, age_s: float, kind: str = "worker", **details) -> Node:
    return Node.objects.create(
        name=name, kind=kind, hostname="h1", pid=1, cpu_pct=12.5, details=details,
        last_seen_at=timezone.now() - dt.timedelta(seconds=age_s),
    )  # fmt: skip


def test_operators_see_nodes_with_stale_and_healthy_flags(client_for, world):
    Node.objects.all().delete()
    _node("worker@fresh", age_s=5)
    _node("worker@gone", age_s=3600)
    _node("runtime@h1", age_s=5, kind="runtime", healthy=False)
    client = client_for(world["operator"])
    rows = {row["name"]: row for row in client.get("/api/v1/admin/nodes").json()}
    assert rows["worker@fresh"]["stale"] is False and rows["worker@fresh"]["healthy"] is True
    assert rows["worker@gone"]["stale"] is True and rows["worker@gone"]["healthy"] is False
    assert rows["runtime@h1"]["healthy"] is False
    assert rows["worker@fresh"]["cpu_pct"] == 12.5
    stale = client.get("/api/v1/admin/nodes?stale=true").json()
    assert [row["name"] for row in stale] == ["worker@gone"]


def test_integrations_are_probed(client_for, world):
    answer = client_for(world["operator"]).get("/api/v1/admin/integrations?refresh=true").json()
    status = {row["name"]: row["status"] for row in answer["results"]}
    assert status["database"] == "ok"
    assert status["redis"] == "ok"


@pytest.mark.parametrize("path", ["/api/v1/admin/nodes", "/api/v1/admin/integrations"])
def test_only_operators(client_for, api_client, world, path):
    assert client_for(world["alice"]).get(path).status_code == 403
    assert api_client.get(path).status_code == 401
