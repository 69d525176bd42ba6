"""Transferring ownership: only by the owner, only to an admin; the old owner becomes admin."""

from __future__ import annotations

import pytest

from apps.core.models import AuditEvent, InboxMessage
from apps.tenants.models import Membership, Role

pytestmark = pytest.mark.django_db


def roles(tenant) -> dict[str, str]:
    return {m.user.email: m.role for m in Membership.objects.filter(tenant=tenant)}


def test_owner_hands_the_tenant_to_an_admin_and_becomes_admin(client_for, team):
    response = client_for(team.owner).post(
        "/api/v1/tenants/alpha/transfer-ownership", {"user_id": str(team.admin.pk)}
    )
    assert response.status_code == 200, response.content
    assert response.json()["role"] == "admin"  # the caller's role, now
    assert roles(team.alpha)["alice@example.com"] == Role.ADMIN
    assert roles(team.alpha)["dave@example.com"] == Role.OWNER
    assert Membership.objects.filter(tenant=team.alpha, role=Role.OWNER).count() == 1
    event = AuditEvent.objects.get(action="tenant.ownership_transferred")
    assert event.metadata == {"from_user_id": str(team.owner.pk), "to_user_id": str(team.admin.pk)}
    assert InboxMessage.objects.filter(
        user=team.admin, kind="tenant.ownership_transferred"
    ).exists()
    # The new owner now has the owner's powers, the old one has not.
    assert client_for(team.owner).delete("/api/v1/tenants/alpha").status_code == 403
    member = team.memberships["member"]
    assert (
        client_for(team.admin, team.alpha)
        .patch(f"/api/v1/members/{member.pk}", {"role": "admin"})
        .status_code
        == 200
    )


@pytest.mark.parametrize("target", ["member", "viewer"])
def test_ownership_goes_only_to_an_admin(client_for, team, target):
    response = client_for(team.owner).post(
        "/api/v1/tenants/alpha/transfer-ownership", {"user_id": str(getattr(team, target).pk)}
    )
    assert response.status_code == 409
    assert "only go to an admin" in response.json()["detail"]
    assert roles(team.alpha)["alice@example.com"] == Role.OWNER


def test_ownership_does_not_go_to_a_non_member_or_to_the_owner(client_for, team):
    client = client_for(team.owner)
    outsider = client.post(
        "/api/v1/tenants/alpha/transfer-ownership", {"user_id": str(team.outsider.pk)}
    )
    assert outsider.status_code == 400
    assert outsider.json()["errors"][0]["field"] == "user_id"
    self_transfer = client.post(
        "/api/v1/tenants/alpha/transfer-ownership", {"user_id": str(team.owner.pk)}
    )
    assert self_transfer.status_code == 409


def test_a_suspended_tenant_cannot_change_hands(client_for, team):
    from apps.tenants.services import tenant_suspend

    tenant_suspend(tenant=team.alpha, reason="unpaid")
    response = client_for(team.owner).post(
        "/api/v1/tenants/alpha/transfer-ownership", {"user_id": str(team.admin.pk)}
    )
    assert response.status_code == 423
    assert roles(team.alpha)["alice@example.com"] == Role.OWNER
