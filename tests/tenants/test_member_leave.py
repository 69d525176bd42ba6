"""Leaving a tenant: anyone may, except its owner."""

from __future__ import annotations

import pytest

from apps.core.models import AuditEvent, InboxMessage
from apps.tenants.models import Membership

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["admin", "member", "viewer"])
def test_a_member_leaves_and_the_owner_is_told(client_for, team, role):
    user = getattr(team, role)
    response = client_for(user, team.alpha).post("/api/v1/members/leave")
    assert response.status_code == 204
    assert not Membership.objects.filter(tenant=team.alpha, user=user).exists()
    event = AuditEvent.objects.get(action="member.left", tenant_id=team.alpha.pk)
    assert event.actor_user_id == user.pk
    assert event.metadata["role"] == role
    message = InboxMessage.objects.get(user=team.owner, kind="member.left")
    assert user.email in message.title
    # Gone from the tenant and from the list of my tenants.
    assert client_for(user, team.alpha).get("/api/v1/members").status_code == 404
    assert client_for(user).get("/api/v1/tenants").json()["results"] == []


def test_the_owner_cannot_leave(client_for, team):
    response = client_for(team.owner, team.alpha).post("/api/v1/members/leave")
    assert response.status_code == 409
    assert "Transfer ownership" in response.json()["detail"]
    assert Membership.objects.filter(tenant=team.alpha, user=team.owner).exists()


def test_a_member_can_leave_one_tenant_and_keep_another(client_for, team, world):
    Membership.objects.create(tenant=team.bravo, user=team.member, role="member")
    assert client_for(team.member, team.alpha).post("/api/v1/members/leave").status_code == 204
    slugs = [t["slug"] for t in client_for(team.member).get("/api/v1/tenants").json()["results"]]
    assert slugs == ["bravo"]


def test_an_operator_who_is_no_member_has_nothing_to_leave(client_for, team):
    response = client_for(team.operator, team.alpha).post("/api/v1/members/leave")
    assert response.status_code == 409
