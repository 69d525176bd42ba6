"""Accepting an invitation through the API (POST /api/v1/invitations/accept on the root host)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.core.actor import Actor
from apps.core.models import AuditEvent, InboxMessage
from apps.tenants import services
from apps.tenants.models import Invitation, InvitationStatus, Membership, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def invited(team, invite):
    """An invitation of charlie (the outsider) to alpha as member, by alice."""
    invitation, token = invite(team.alpha, "charlie@example.com", by=team.owner)
    return invitation, token


def accept(client_for, user, token):
    return client_for(user).post("/api/v1/invitations/accept", {"token": token})


def test_accepting_makes_a_membership_tells_the_inviter_and_is_audited(client_for, team, invited):
    invitation, token = invited
    response = accept(client_for, team.outsider, token)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["slug"], body["role"]) == ("alpha", "member")
    membership = Membership.objects.get(tenant=team.alpha, user=team.outsider)
    assert membership.role == Role.MEMBER
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ACCEPTED
    assert invitation.accepted_by == team.outsider and invitation.accepted_at
    event = AuditEvent.objects.get(action="invitation.accepted")
    assert event.actor_user_id == team.outsider.pk
    assert event.tenant_id == team.alpha.pk
    assert event.metadata["membership_id"] == str(membership.pk)
    message = InboxMessage.objects.get(user=team.owner, kind="invitation.accepted")
    assert "charlie@example.com" in message.title
    # In at once.
    assert client_for(team.outsider, team.alpha).get("/api/v1/members").status_code == 200


def test_the_email_matches_whatever_its_case(client_for, team, invite, make_user):
    _, token = invite(team.alpha, "Mixed.Case@EXAMPLE.com", role=Role.VIEWER)
    user = make_user("mixed.case@example.com")
    response = accept(client_for, user, token)
    assert response.status_code == 200
    assert response.json()["role"] == "viewer"


def test_an_admin_invitation_makes_an_admin(client_for, team, invite):
    _, token = invite(team.alpha, "charlie@example.com", role=Role.ADMIN)
    assert accept(client_for, team.outsider, token).json()["role"] == "admin"


def test_a_used_link_is_refused(client_for, team, invited):
    _, token = invited
    assert accept(client_for, team.outsider, token).status_code == 200
    response = accept(client_for, team.outsider, token)
    assert response.status_code == 409
    assert response.json()["invitation_status"] == "accepted"
    assert "already been used" in response.json()["detail"]


def test_an_expired_link_is_refused(client_for, team, invited):
    invitation, token = invited
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    response = accept(client_for, team.outsider, token)
    assert response.status_code == 409
    assert response.json()["invitation_status"] == "expired"
    assert "expired" in response.json()["detail"]
    assert not Membership.objects.filter(tenant=team.alpha, user=team.outsider).exists()


def test_another_email_is_refused(client_for, team, invited):
    _, token = invited
    response = accept(client_for, team.member, token)
    assert response.status_code == 403
    assert "charlie@example.com" in response.json()["detail"]
    invitation = Invitation.objects.get(token_hash=invited[0].token_hash)
    assert invitation.status == InvitationStatus.PENDING


@pytest.mark.parametrize("token", ["0" * 64, "not-a-token", "A" * 64])
def test_an_unknown_link_is_404(client_for, team, token):
    response = accept(client_for, team.outsider, token)
    assert response.status_code == 404
    assert response.json()["type"] == "/problems/not-found"


def test_a_deleted_tenants_invitation_is_404(client_for, team, invited):
    services.tenant_delete(tenant=team.alpha, actor=Actor(role=Role.OWNER))
    assert accept(client_for, team.outsider, invited[1]).status_code == 404


def test_a_suspended_tenant_admits_nobody(client_for, team, invited):
    services.tenant_suspend(tenant=team.alpha, reason="unpaid")
    response = accept(client_for, team.outsider, invited[1])
    assert response.status_code == 423


def test_acceptance_respects_a_limit_lowered_since_the_invitation(client_for, team, invited):
    services.tenant_entitlement_overrides_update(tenant=team.alpha, changes={"users": 4})
    response = accept(client_for, team.outsider, invited[1])
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/quota-exceeded"
    assert response.json()["limit"] == "users"


def test_sign_up_then_accept(client_for, team, invite, make_user):
    """No account when invited; the account made afterwards (same address) accepts."""
    _, token = invite(team.alpha, "newcomer@example.com")
    newcomer = make_user("newcomer@example.com")
    assert accept(client_for, newcomer, token).status_code == 200
