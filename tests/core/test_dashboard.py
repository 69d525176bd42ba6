"""The operator console's front page: system numbers, nodes with stale flags, fast."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core import metrics
from apps.core.models import Node
from apps.core.nodes import Usage, node_report
from apps.deploy.stats import CACHE_KEY, platform_stats_refresh

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client, world):
    client.force_login(world["operator"])
    return client


def test_dashboard_renders_the_system_numbers(operator_client, world):
    node_report(name="worker@dash-fresh", kind="worker", usage=Usage(cpu_pct=12.5))
    node_report(name="runtime@dash-stale", kind="runtime", usage=Usage())
    Node.objects.filter(name="runtime@dash-stale").update(
        last_seen_at=timezone.now() - dt.timedelta(minutes=10)
    )
    metrics.rate_add("checks", 42, now=timezone.now().timestamp() - 60)
    stats = platform_stats_refresh()
    with CaptureQueriesContext(connection) as queries:
        response = operator_client.get("/admin/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-node="worker@dash-fresh" data-stale="false"' in html
    assert 'data-node="runtime@dash-stale" data-stale="true"' in html
    assert f'id="apps-total">{stats["apps_total"]}<' in html
    assert stats["schemas"] >= 2
    assert 'id="checks-minute">' in html
    assert "Integrations health" in html and "/admin/core/node/integrations/" in html
    dashboard = response.context["dashboard"]
    assert dashboard["checks_last_hour"] >= 42
    assert metrics.queue_names()[0] in dashboard["queues"]
    assert dashboard["nodes_stale"] >= 1
    # Session, user, permissions x2, users, nodes, tenants, admin log: 8 (django-tenants adds a
    # SET search_path before each in tests).
    real = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith("SET ")]
    assert len(real) <= 10, real


def test_apps_and_deployments_are_counted_across_tenant_schemas(world):
    from apps.deploy.models import App
    from tests.monitoring.factories import in_tenant

    with in_tenant(world["tenant_a"]):
        App.objects.create(name="dash-one")
    with in_tenant(world["tenant_b"]):
        App.objects.create(name="dash-two")
    stats = platform_stats_refresh()
    assert stats["apps"].get("new", 0) >= 2 and stats["apps_total"] >= 2
    assert cache.get(CACHE_KEY)["apps_total"] == stats["apps_total"]


def test_dashboard_says_when_apps_were_not_counted_yet(operator_client):
    cache.delete(CACHE_KEY)
    html = operator_client.get("/admin/").content.decode()
    assert "Not counted yet" in html


def test_non_staff_are_refused(client, world):
    client.force_login(world["alice"])
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
