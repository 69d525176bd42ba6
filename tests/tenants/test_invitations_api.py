"""Inviting people: who may invite whom, conflicts, the user limit, revoke, resend, list."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core.actor import Actor
from apps.core.models import AuditEvent, InboxMessage
from apps.tenants import selectors, services
from apps.tenants.models import Invitation, InvitationStatus

pytestmark = pytest.mark.django_db


def test_invitation_is_stored_with_the_hash_of_its_token_only(client_for, team):
    response = client_for(team.admin, team.alpha).post(
        "/api/v1/invitations", {"email": "Newbie@Example.com", "role": "member"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"] == f"/api/v1/invitations/{body['id']}"
    assert body["status"] == "pending"
    assert body["invited_by"] == "dave@example.com"
    assert body["email"] == "Newbie@example.com"  # the domain is normalised, not the local part
    assert "token" not in body
    invitation = Invitation.objects.get(pk=body["id"])
    token = services.invitation_token(invitation)
    assert invitation.token_hash == selectors.invitation_token_hash(token)
    stored = {f.attname: getattr(invitation, f.attname) for f in Invitation._meta.fields}
    assert token not in {str(value) for value in stored.values()}
    expires_in = invitation.expires_at - timezone.now()
    assert dt.timedelta(days=6, hours=23) < expires_in <= dt.timedelta(days=7)
    event = AuditEvent.objects.get(action="invitation.created")
    assert event.metadata["email"] == "Newbie@example.com"
    assert event.metadata["role"] == "member"


def test_an_existing_user_finds_the_invitation_in_their_inbox(client_for, team):
    client_for(team.owner, team.alpha).post(
        "/api/v1/invitations", {"email": "CHARLIE@example.com", "role": "viewer"}
    )
    message = InboxMessage.objects.get(user=team.outsider, kind="member.invited")
    assert message.tenant_slug == "alpha"
    assert message.data["role"] == "viewer"


def test_inviting_a_member_or_a_pending_address_is_a_conflict(client_for, team, invite):
    client = client_for(team.owner, team.alpha)
    member = client.post("/api/v1/invitations", {"email": "ERIN@example.com", "role": "viewer"})
    assert member.status_code == 409
    assert member.json()["type"] == "/problems/conflict"
    invitation, _ = invite(team.alpha, "pending@example.com")
    again = client.post("/api/v1/invitations", {"email": "Pending@Example.com", "role": "member"})
    assert again.status_code == 409
    assert again.json()["invitation_id"] == str(invitation.pk)


def test_an_expired_invitation_does_not_block_a_new_one(client_for, team, invite):
    old, _ = invite(team.alpha, "late@example.com")
    Invitation.objects.filter(pk=old.pk).update(expires_at=timezone.now() - dt.timedelta(hours=1))
    response = client_for(team.owner, team.alpha).post(
        "/api/v1/invitations", {"email": "late@example.com", "role": "member"}
    )
    assert response.status_code == 201
    old.refresh_from_db()
    assert old.status == InvitationStatus.EXPIRED


def test_the_user_limit_counts_members_and_pending_invitations(client_for, team, invite, settings):
    # Alpha has 4 members and the default limit of 10: 6 invitations fit, the 7th does not.
    assert settings.TENANT_DEFAULT_USER_LIMIT == 10
    for index in range(6):
        invite(team.alpha, f"seat-{index}@example.com")
    response = client_for(team.owner, team.alpha).post(
        "/api/v1/invitations", {"email": "one-too-many@example.com", "role": "member"}
    )
    assert response.status_code == 409
    problem = response.json()
    assert problem["type"] == "/problems/quota-exceeded"
    assert (problem["limit"], problem["allowed"], problem["used"]) == ("users", 10, 10)
    assert not Invitation.objects.filter(email="one-too-many@example.com").exists()


def test_expired_and_revoked_invitations_free_their_seat(client_for, team, invite):
    invitations = [invite(team.alpha, f"seat-{i}@example.com")[0] for i in range(6)]
    Invitation.objects.filter(pk=invitations[0].pk).update(expires_at=timezone.now())
    services.invitation_revoke(invitation=invitations[1], actor=Actor(role="owner"))
    client = client_for(team.owner, team.alpha)
    for email in ("a@example.com", "b@example.com"):
        assert (
            client.post("/api/v1/invitations", {"email": email, "role": "member"}).status_code
            == 201
        )
    third = client.post("/api/v1/invitations", {"email": "c@example.com", "role": "member"})
    assert third.status_code == 409


def test_revoke_stops_the_link_and_is_audited(client_for, team, invite, django_user_model):
    invitation, token = invite(team.alpha, "gone@example.com")
    client = client_for(team.admin, team.alpha)
    assert client.delete(f"/api/v1/invitations/{invitation.pk}").status_code == 204
    assert client.delete(f"/api/v1/invitations/{invitation.pk}").status_code == 204  # idempotent
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.REVOKED and invitation.revoked_at
    assert AuditEvent.objects.filter(action="invitation.revoked").count() == 1
    invitee = django_user_model.objects.create_user(username="gone", email="gone@example.com")
    response = client_for(invitee).post("/api/v1/invitations/accept", {"token": token})
    assert response.status_code == 409
    assert response.json()["invitation_status"] == "revoked"
    assert client.get("/api/v1/invitations").json()["results"] == []
    revoked = client.get("/api/v1/invitations", {"status": "revoked"}).json()["results"]
    assert [row["id"] for row in revoked] == [str(invitation.pk)]


def test_resend_makes_a_new_link_and_expiry_and_voids_the_old_link(
    client_for, team, invite, django_user_model
):
    invitation, old_token = invite(team.alpha, "again@example.com")
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - dt.timedelta(days=1)
    )
    response = client_for(team.admin, team.alpha).post(
        f"/api/v1/invitations/{invitation.pk}/resend"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "pending"
    invitation.refresh_from_db()
    new_token = services.invitation_token(invitation)
    assert new_token != old_token
    assert invitation.expires_at > timezone.now() + dt.timedelta(days=6)
    assert AuditEvent.objects.filter(action="invitation.resent").exists()
    invitee = django_user_model.objects.create_user(username="again", email="again@example.com")
    client = client_for(invitee)
    assert client.post("/api/v1/invitations/accept", {"token": old_token}).status_code == 404
    assert client.post("/api/v1/invitations/accept", {"token": new_token}).status_code == 200


def test_an_accepted_invitation_can_be_neither_resent_nor_revoked(client_for, team, invite):
    invitation, _ = invite(team.alpha, "charlie@example.com")
    services.invitation_accept(token=services.invitation_token(invitation), user=team.outsider)
    client = client_for(team.owner, team.alpha)
    assert client.post(f"/api/v1/invitations/{invitation.pk}/resend").status_code == 409
    assert client.delete(f"/api/v1/invitations/{invitation.pk}").status_code == 409


def test_list_shows_pending_by_default_and_expired_on_request(client_for, team, invite):
    invite(team.alpha, "p@example.com")
    expired, _ = invite(team.alpha, "e@example.com")
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    client = client_for(team.owner, team.alpha)
    rows = client.get("/api/v1/invitations").json()["results"]
    assert [(row["email"], row["status"]) for row in rows] == [("p@example.com", "pending")]
    rows = client.get("/api/v1/invitations", {"status": "expired"}).json()["results"]
    assert [(row["email"], row["status"]) for row in rows] == [("e@example.com", "expired")]
    assert client.get(f"/api/v1/invitations/{expired.pk}").json()["status"] == "expired"


def test_invitation_list_costs_the_same_queries_for_1_or_20(client_for, team, invite):
    services.tenant_entitlement_overrides_update(tenant=team.alpha, changes={"users": 100})
    client = client_for(team.owner, team.alpha)
    invite(team.alpha, "first@example.com", by=team.owner)
    client.get("/api/v1/invitations")
    with CaptureQueriesContext(connection) as one:
        assert len(client.get("/api/v1/invitations").json()["results"]) == 1
    for index in range(19):
        invite(team.alpha, f"more-{index}@example.com", by=team.admin)
    with CaptureQueriesContext(connection) as twenty:
        assert len(client.get("/api/v1/invitations").json()["results"]) == 20
    assert len(twenty) == len(one)
