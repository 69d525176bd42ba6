"""/api/v1/admin/tenants: operators see and filter every tenant and override its limits."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.actor import Actor
from apps.core.models import AuditEvent
from apps.tenants import services
from apps.tenants.models import Tenant

pytestmark = pytest.mark.django_db


def test_operators_list_every_tenant_with_owner_and_member_count(client_for, team):
    response = client_for(team.operator).get("/api/v1/admin/tenants")
    assert response.status_code == 200
    rows = {row["slug"]: row for row in response.json()["results"]}
    assert {"alpha", "bravo"} <= set(rows)
    alpha = rows["alpha"]
    assert alpha["owner_email"] == "alice@example.com"
    assert alpha["member_count"] == 4
    assert alpha["limits"] == {"users": 10}
    assert alpha["status"] == "active"
    assert alpha["domain"] == "alpha.localhost"


def test_filters_by_status_and_text(client_for, team):
    services.tenant_suspend(tenant=team.bravo, reason="abuse")
    services.tenant_delete(tenant=team.alpha, actor=Actor(role="owner"))
    client = client_for(team.operator)

    def slugs(**params):
        response = client.get("/api/v1/admin/tenants", params)
        assert response.status_code == 200
        return {row["slug"] for row in response.json()["results"]}

    assert slugs(status="suspended") == {"bravo"}
    assert slugs(status="deleted") == {"alpha"}
    assert slugs(q="BRAV") == {"bravo"}
    assert "alpha" in slugs(created_before="2100-01-01T00:00:00Z")
    assert slugs(created_after="2100-01-01T00:00:00Z") == set()
    assert client.get("/api/v1/admin/tenants", {"status": "gone"}).status_code == 400
    deleted = client.get("/api/v1/admin/tenants/alpha").json()
    assert deleted["status"] == "deleted" and deleted["deleted_at"]


def test_list_costs_the_same_queries_for_few_or_many_tenants(client_for, team, make_user):
    client = client_for(team.operator)
    client.get("/api/v1/admin/tenants")
    with CaptureQueriesContext(connection) as few:
        count_few = len(client.get("/api/v1/admin/tenants").json()["results"])
    for index in range(8):
        services.tenant_create(
            name=f"T{index}", slug=f"many-{index}", owner=make_user(f"o{index}@x.io")
        )
    with CaptureQueriesContext(connection) as many:
        count_many = len(client.get("/api/v1/admin/tenants").json()["results"])
    assert count_many == count_few + 8
    assert len(many) == len(few)


def test_overrides_are_merged_and_null_removes_one(client_for, team):
    services.tenant_entitlements_set(tenant=team.alpha, entitlements={"users": 5, "apps": 3})
    client = client_for(team.operator)
    url = "/api/v1/admin/tenants/alpha/entitlement-overrides"
    body = client.patch(url, {"overrides": {"users": 25}, "reason": "pilot"}).json()
    assert body["entitlement_overrides"] == {"users": 25}
    assert body["limits"] == {"apps": 3, "users": 25}
    body = client.patch(url, {"overrides": {"apps": 7}}).json()
    assert body["entitlement_overrides"] == {"users": 25, "apps": 7}
    body = client.patch(url, {"overrides": {"users": None}}).json()
    assert body["entitlement_overrides"] == {"apps": 7}
    assert body["limits"] == {"apps": 7, "users": 5}
    events = AuditEvent.objects.filter(action="tenant.entitlements_overridden").order_by(
        "created_at"
    )
    assert [e.metadata["to"] for e in events] == [
        {"users": 25},
        {"users": 25, "apps": 7},
        {"apps": 7},
    ]
    assert events[0].metadata["reason"] == "pilot"
    assert events[0].actor_user_id == team.operator.pk


def test_an_override_lifts_the_user_limit_for_invitations(client_for, team, invite):
    for index in range(6):
        invite(team.alpha, f"seat-{index}@example.com")
    owner = client_for(team.owner, team.alpha)
    body = {"email": "eleventh@example.com", "role": "member"}
    assert owner.post("/api/v1/invitations", body).status_code == 409
    client_for(team.operator).patch(
        "/api/v1/admin/tenants/alpha/entitlement-overrides", {"overrides": {"users": 11}}
    )
    assert owner.post("/api/v1/invitations", body).status_code == 201


def test_suspending_a_deleted_tenant_is_404(client_for, team):
    services.tenant_delete(tenant=team.alpha, actor=Actor(role="owner"))
    response = client_for(team.operator).post("/api/v1/admin/tenants/alpha/suspend")
    assert response.status_code == 404
    assert Tenant.objects.get(pk=team.alpha.pk).status == "deleted"
