"""A quota is checked under a per-tenant lock held until the create commits, so two creates at
once cannot both take the last free place."""

import pytest

from apps.tenants.models import Tenant
from tests.core.locks import lock_taken_elsewhere

HTTP = {"name": "Website", "kind": "http", "http": {"url": "https://example.com/health"}}


@pytest.fixture
def alice(client_for, world):
    return client_for(world["alice"], world["tenant_a"])


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
    assert not lock_taken_elsewhere(lock)
    Tenant.objects.filter(pk=tenant.pk).update(entitlement_overrides={limit: 5})
    assert alice.post(path, body, format="json").status_code == 201
    # The test's transaction is still open: another create would wait here for the count.
    assert lock_taken_elsewhere(lock)


def test_without_a_limit_no_lock_is_taken(alice, world):
    assert alice.post("/api/v1/monitors", HTTP, format="json").status_code == 201
    assert not lock_taken_elsewhere(f"quota:{world['tenant_a'].pk}:monitors")
