"""A quota is checked under a per-tenant lock held until the create commits, so two creates at
once cannot both take the last free place."""

import psycopg
import pytest
from django.db import connection

from apps.core.locks import advisory_key
from apps.tenants.models import Tenant

HTTP = {"name": "Website", "kind": "http", "http": {"url": "https://example.com/health"}}


@pytest.fixture
def alice(client_for, world):
    return client_for(world["alice"], world["tenant_a"])


def _taken_elsewhere(name: str) -> bool:
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        row = other.execute("SELECT pg_try_advisory_lock(%s)", [advisory_key(name)]).fetchone()
        if row[0]:
            other.execute("SELECT pg_advisory_unlock(%s)", [advisory_key(name)])
        return not row[0]


@pytest.mark.parametrize(
    ("limit", "path", "body"),
    [
        ("monitors", "/api/v1/monitors", HTTP),
        ("webhook_endpoints", "/api/v1/webhook-endpoints", {"url": "https://example.com/hook"}),
    ],
)
def test_a_create_under_a_limit_holds_the_quota_lock_until_it_commits(
    alice, world, limit, path, body
):
    tenant = world["tenant_a"]
    lock = f"quota:{tenant.pk}:{limit}"
    assert not _taken_elsewhere(lock)
    Tenant.objects.filter(pk=tenant.pk).update(entitlement_overrides={limit: 5})
    assert alice.post(path, body, format="json").status_code == 201
    # The test's transaction is still open: another create would wait here for the count.
    assert _taken_elsewhere(lock)


def test_without_a_limit_no_lock_is_taken(alice, world):
    assert alice.post("/api/v1/monitors", HTTP, format="json").status_code == 201
    assert not _taken_elsewhere(f"quota:{world['tenant_a'].pk}:monitors")
