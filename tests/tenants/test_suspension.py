"""A suspended tenant can be read but not changed (423), in tenant context and at tenant level;
resuming lifts it. Billing calls the same services."""

from __future__ import annotations

import pytest

from apps.core.models import AuditEvent, InboxMessage
from apps.tenants import services
from apps.tenants.models import TenantStatus

pytestmark = pytest.mark.django_db


def suspend(client_for, team):
    response = client_for(team.operator).post(
        "/api/v1/admin/tenants/alpha/suspend", {"reason": "Unpaid invoice"}
    )
    assert response.status_code == 200, response.content
    return response


def test_operator_suspends_and_the_owner_is_told(client_for, team):
    body = suspend(client_for, team).json()
    assert body["status"] == "suspended"
    assert body["suspension_reason"] == "Unpaid invoice"
    assert body["suspended_at"]
    event = AuditEvent.objects.get(action="tenant.suspended")
    assert event.actor_user_id == team.operator.pk
    assert InboxMessage.objects.filter(user=team.owner, kind="tenant.suspended").exists()


def test_suspended_tenant_reads_200_and_writes_423(client_for, team):
    suspend(client_for, team)
    owner = client_for(team.owner, team.alpha)
    member = team.memberships["member"]
    assert owner.get("/api/v1/members").status_code == 200
    assert owner.get("/api/v1/invitations").status_code == 200
    assert client_for(team.owner).get("/api/v1/tenants/alpha").status_code == 200
    for response in (
        owner.patch(f"/api/v1/members/{member.pk}", {"role": "viewer"}),
        owner.delete(f"/api/v1/members/{member.pk}"),
        owner.post("/api/v1/invitations", {"email": "x@example.com", "role": "member"}),
        client_for(team.member, team.alpha).post("/api/v1/members/leave"),
        client_for(team.owner).patch("/api/v1/tenants/alpha", {"name": "Renamed"}),
        client_for(team.owner, team.alpha).patch("/api/v1/tenants/alpha", {"name": "Renamed"}),
    ):
        assert response.status_code == 423, response.content
        assert response.json()["type"] == "/problems/tenant-suspended"
    team.alpha.refresh_from_db()
    assert team.alpha.name == "Alpha"


def test_resume_lets_writes_through_again(client_for, team):
    suspend(client_for, team)
    response = client_for(team.operator).post("/api/v1/admin/tenants/alpha/resume")
    assert response.status_code == 200
    assert response.json()["status"] == "active"
    assert response.json()["suspension_reason"] == ""
    assert AuditEvent.objects.filter(action="tenant.resumed").exists()
    assert InboxMessage.objects.filter(user=team.owner, kind="tenant.resumed").exists()
    rename = client_for(team.owner).patch("/api/v1/tenants/alpha", {"name": "Back"})
    assert rename.status_code == 200


def test_suspend_and_resume_are_idempotent_for_billing(team):
    services.tenant_suspend(tenant=team.alpha, reason="unpaid")
    services.tenant_suspend(tenant=team.alpha, reason="again")
    team.alpha.refresh_from_db()
    assert team.alpha.status == TenantStatus.SUSPENDED
    assert team.alpha.suspension_reason == "unpaid"
    assert AuditEvent.objects.filter(action="tenant.suspended").count() == 1
    services.tenant_resume(tenant=team.alpha)
    services.tenant_resume(tenant=team.alpha)
    assert AuditEvent.objects.filter(action="tenant.resumed").count() == 1


def test_a_suspended_tenant_can_still_be_deleted_by_its_owner(client_for, team):
    services.tenant_suspend(tenant=team.alpha, reason="unpaid")
    assert client_for(team.owner).delete("/api/v1/tenants/alpha").status_code == 204
    with pytest.raises(services.NotFound):
        services.tenant_resume(tenant=team.alpha)
