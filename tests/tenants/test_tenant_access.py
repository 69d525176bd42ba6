"""A request routed to a tenant (host or X-Tenant-ID) must come from a member or an operator."""

import pytest

from apps.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_member_reaches_the_api_in_their_tenant(client_for, world):
    response = client_for(world["alice"], world["tenant_a"]).get("/api/v1/tenants")
    assert response.status_code == 200


def test_member_reaches_the_api_on_their_tenant_host(client_for, world):
    response = client_for(world["alice"]).get("/api/v1/tenants", HTTP_HOST="alpha.localhost")
    assert response.status_code == 200


@pytest.mark.parametrize("how", ["header", "host"])
def test_non_member_gets_the_same_404_as_for_a_tenant_that_does_not_exist(client_for, world, how):
    client = client_for(world["alice"])
    if how == "header":
        existing = client.get("/api/v1/tenants", HTTP_X_TENANT_ID="bravo")
        missing = client.get("/api/v1/tenants", HTTP_X_TENANT_ID="nope")
    else:
        existing = client.get("/api/v1/tenants", HTTP_HOST="bravo.localhost")
        missing = client.get("/api/v1/tenants", HTTP_HOST="nope.localhost")
    assert existing.status_code == missing.status_code == 404
    strip = {"request_id", "instance"}
    assert {k: v for k, v in existing.json().items() if k not in strip} == {
        k: v for k, v in missing.json().items() if k not in strip
    }


def test_anonymous_caller_gets_404_for_an_existing_tenant(api_client, world):
    response = api_client.get("/api/v1/tenants", HTTP_X_TENANT_ID="alpha")
    assert response.status_code == 404


def test_operator_may_enter_any_tenant_and_the_entry_is_audited_once(client_for, world):
    client = client_for(world["operator"], world["tenant_b"])
    assert client.get("/api/v1/tenants").status_code == 200
    assert client.get("/api/v1/tenants").status_code == 200
    entries = AuditEvent.objects.filter(
        action="tenant.operator_entered", tenant_id=world["tenant_b"].pk
    )
    assert entries.count() == 1
    assert entries.get().actor_user_id == world["operator"].pk
