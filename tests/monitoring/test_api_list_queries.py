"""Listing monitors costs the same number of queries with 3 or 150 monitors."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.monitoring.models import Monitor
from tests.monitoring.factories import create, in_tenant


def _add(tenant, n):
    with in_tenant(tenant):
        Monitor.objects.bulk_create(
            Monitor(name=f"m{i}", kind="http", url=f"https://e{i}.example/") for i in range(n)
        )


def _count(client, path):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries), response.json()


def test_list_query_count_is_constant(client_for, world):
    tenant = world["tenant_a"]
    client = client_for(world["alice"], tenant)
    create(tenant, kind="heartbeat", name="hb", period_s=3600)
    _add(tenant, 2)
    few, body = _count(client, "/api/v1/monitors")
    assert len(body["results"]) == 3
    _add(tenant, 147)
    many, body = _count(client, "/api/v1/monitors?page_size=200")
    assert len(body["results"]) == 150
    assert many == few
    incidents_few, _ = _count(client, "/api/v1/incidents")
    assert incidents_few <= few
