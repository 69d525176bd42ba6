"""tenant_limit(tenant, name): operator override > plan entitlement > default."""

from __future__ import annotations

import pytest

from apps.core.problems import InvalidInput
from apps.tenants import services
from apps.tenants.models import Tenant
from apps.tenants.selectors import tenant_limit, tenant_limits

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("entitlements", "overrides", "expected"),
    [
        ({}, {}, 10),  # TENANT_DEFAULT_USER_LIMIT
        ({"users": 3}, {}, 3),  # the plan's
        ({"users": None}, {}, None),  # the plan sets no limit
        ({"users": 3}, {"users": 50}, 50),  # the operator's override wins
        ({"users": None}, {"users": 50}, 50),
        ({}, {"apps": 1}, 10),  # another name's override changes nothing
    ],
)
def test_precedence(entitlements, overrides, expected):
    tenant = Tenant(entitlements=entitlements, entitlement_overrides=overrides)
    assert tenant_limit(tenant, "users") == expected


def test_unknown_names_have_no_limit_and_defaults_follow_settings(settings):
    tenant = Tenant()
    assert tenant_limit(tenant, "monitors") is None
    settings.TENANT_DEFAULT_LIMITS = {"users": 3, "monitors": 5}
    assert tenant_limits(tenant) == {"monitors": 5, "users": 3}


def test_services_validate_limits(world):
    tenant = world["tenant_a"]
    for bad in ({"users": -1}, {"users": "10"}, {"users": True}, {"Users": 1}):
        with pytest.raises(InvalidInput):
            services.tenant_entitlements_set(tenant=tenant, entitlements=bad)
    services.tenant_entitlements_set(tenant=tenant, entitlements={"users": 2, "apps": None})
    tenant.refresh_from_db()
    assert tenant_limits(tenant) == {"apps": None, "users": 2}
