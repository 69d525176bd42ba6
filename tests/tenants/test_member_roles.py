"""Changing roles and removing members: one owner, the owner alone manages admins, every change
audited and sent to the affected person's inbox."""

from __future__ import annotations

import pytest

from apps.core.actor import Actor
from apps.core.models import AuditEvent, InboxMessage
from apps.core.problems import Conflict
from apps.tenants import services
from apps.tenants.models import Membership, Role

pytestmark = pytest.mark.django_db


def test_role_change_is_audited_and_told_to_the_member(client_for, team):
    membership = team.memberships["member"]
    response = client_for(team.admin, team.alpha).patch(
        f"/api/v1/members/{membership.pk}", {"role": "viewer"}
    )
    assert response.status_code == 200
    assert response.json()["role"] == "viewer"
    membership.refresh_from_db()
    assert membership.role == Role.VIEWER
    event = AuditEvent.objects.get(action="member.role_changed", tenant_id=team.alpha.pk)
    assert event.actor_user_id == team.admin.pk
    assert event.metadata == {"user_id": str(team.member.pk), "from": "member", "to": "viewer"}
    message = InboxMessage.objects.get(user=team.member, kind="member.role_changed")
    assert message.tenant_id == team.alpha.pk
    assert message.data == {"from": "member", "to": "viewer"}
    assert "viewer" in message.title


def test_setting_the_same_role_changes_and_audits_nothing(client_for, team):
    membership = team.memberships["member"]
    response = client_for(team.owner, team.alpha).patch(
        f"/api/v1/members/{membership.pk}", {"role": "member"}
    )
    assert response.status_code == 200
    assert not AuditEvent.objects.filter(action="member.role_changed").exists()
    assert not InboxMessage.objects.filter(user=team.member).exists()


def test_nobody_is_made_owner_by_a_role_change(client_for, team):
    response = client_for(team.owner, team.alpha).patch(
        f"/api/v1/members/{team.memberships['admin'].pk}", {"role": "owner"}
    )
    assert response.status_code == 400
    assert "transfer" in response.json()["errors"][0]["message"]
    assert Membership.objects.filter(tenant=team.alpha, role=Role.OWNER).count() == 1


def test_the_owner_cannot_demote_themselves(client_for, team):
    response = client_for(team.owner, team.alpha).patch(
        f"/api/v1/members/{team.memberships['owner'].pk}", {"role": "admin"}
    )
    assert response.status_code == 409
    assert "transferring ownership" in response.json()["detail"]
    assert Membership.objects.get(tenant=team.alpha, user=team.owner).role == Role.OWNER


def test_an_admin_cannot_demote_another_admin_or_themselves(client_for, team, make_user):
    other_admin = Membership.objects.create(
        tenant=team.alpha, user=make_user("gina@example.com"), role=Role.ADMIN
    )
    client = client_for(team.admin, team.alpha)
    for membership in (other_admin, team.memberships["admin"]):
        response = client.patch(f"/api/v1/members/{membership.pk}", {"role": "member"})
        assert response.status_code == 403
        assert response.json()["detail"] == "Only the owner can make or unmake admins."


def test_removal_is_audited_and_told_to_the_removed_person(client_for, team):
    membership = team.memberships["viewer"]
    response = client_for(team.admin, team.alpha).delete(f"/api/v1/members/{membership.pk}")
    assert response.status_code == 204
    assert not Membership.objects.filter(pk=membership.pk).exists()
    event = AuditEvent.objects.get(action="member.removed")
    assert event.target_id == str(membership.pk)
    assert event.metadata["user_id"] == str(team.viewer.pk)
    assert event.metadata["role"] == "viewer"
    message = InboxMessage.objects.get(user=team.viewer, kind="member.removed")
    assert message.tenant_name == "Alpha"
    # The removed person is out at once.
    assert client_for(team.viewer, team.alpha).get("/api/v1/members").status_code == 404


def test_the_owner_removes_an_admin_but_nobody_removes_the_owner(client_for, team):
    owner = client_for(team.owner, team.alpha)
    assert owner.delete(f"/api/v1/members/{team.memberships['admin'].pk}").status_code == 204
    response = owner.delete(f"/api/v1/members/{team.memberships['owner'].pk}")
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/conflict"
    assert Membership.objects.filter(tenant=team.alpha, user=team.owner, role="owner").exists()


def test_the_service_keeps_the_rules_whoever_calls_it(team):
    with pytest.raises(services.RoleForbids):
        services.membership_role_change(
            membership=team.memberships["member"], role=Role.VIEWER, actor=Actor(role=Role.MEMBER)
        )
    with pytest.raises(services.RoleForbids):
        services.membership_remove(
            membership=team.memberships["admin"], actor=Actor(role=Role.ADMIN)
        )
    with pytest.raises(Conflict):
        services.membership_remove(
            membership=team.memberships["owner"], actor=Actor(role=Role.OWNER)
        )
