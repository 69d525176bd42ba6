"""Operators manage tenants from the admin through the tenants services (audited)."""

import pytest

from apps.core.models import AuditEvent
from apps.tenants.models import Tenant, TenantStatus
from apps.tenants.selectors import tenant_limit
from apps.tenants.services import tenant_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client, world):
    world["operator"].is_superuser = True
    world["operator"].save()
    client.force_login(world["operator"])
    return client


def change(client, tenant, **fields):
    data = {
        "name": tenant.name,
        "entitlement_overrides": "{}",
        "override_reason": "",
        "domains-TOTAL_FORMS": "0",
        "domains-INITIAL_FORMS": "0",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        **fields,
    }
    return client.post(f"/admin/tenants/tenant/{tenant.pk}/change/", data)


def test_quota_override_goes_through_the_service(operator_client):
    tenant = tenant_create(name="Quota", slug="quota-co")
    response = change(
        operator_client, tenant, entitlement_overrides='{"users": 42}', override_reason="deal"
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    tenant.refresh_from_db()
    assert tenant_limit(tenant, "users") == 42
    event = AuditEvent.objects.get(action="tenant.entitlements_overridden", tenant_id=tenant.pk)
    assert event.metadata["reason"] == "deal"

    change(operator_client, tenant, entitlement_overrides="{}")
    tenant.refresh_from_db()
    assert tenant.entitlement_overrides == {}


def test_bad_override_is_refused_and_nothing_changes(operator_client):
    tenant = tenant_create(name="Bad quota", slug="bad-quota")
    change(operator_client, tenant, entitlement_overrides='{"users": -1}')
    tenant.refresh_from_db()
    assert tenant.entitlement_overrides == {}


def test_rename_goes_through_the_service(operator_client):
    tenant = tenant_create(name="Old name", slug="rename-co")
    assert change(operator_client, tenant, name="New name").status_code == 302
    tenant.refresh_from_db()
    assert tenant.name == "New name"
    assert AuditEvent.objects.filter(action="tenant.renamed", tenant_id=tenant.pk).exists()


def test_tenants_are_deleted_softly_never_hard(operator_client):
    tenant = tenant_create(name="Soft", slug="soft-co")
    assert operator_client.post(f"/admin/tenants/tenant/{tenant.pk}/delete/").status_code == 403
    operator_client.post(
        "/admin/tenants/tenant/",
        {"action": "delete_softly", "_selected_action": [str(tenant.pk)]},
    )
    assert Tenant.objects.get(pk=tenant.pk).status == TenantStatus.DELETED
