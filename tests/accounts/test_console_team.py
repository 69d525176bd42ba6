"""The tenant console's team pages (/console/team/members/, /console/team/api-keys/): who sees which
controls, that every change goes through the services under the API's rules, that forged POSTs
from lesser roles get 403, that another tenant's ids answer 404, and that the lists cost the
same number of queries however long they are."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts import services as key_services
from apps.accounts.models import ApiKey
from apps.core.actor import Actor
from apps.core.models import AuditEvent
from apps.tenants import services as tenant_services
from apps.tenants.models import Invitation, InvitationStatus, Membership, Role

pytestmark = pytest.mark.django_db

HOST = "alpha.localhost"
TEAM = "/console/team/members/"
KEYS = "/console/team/api-keys/"


def _user(email: str):
    return get_user_model().objects.create_user(username=email, email=email, password="pw")


@pytest.fixture
def crew(world) -> SimpleNamespace:
    """Tenant alpha with one person per role (alice owns it), and bravo's owner bob."""
    alpha = world["tenant_a"]
    people = {role: _user(f"crew-{role}@example.com") for role in ("admin", "member", "viewer")}
    memberships = {
        role: Membership.objects.create(tenant=alpha, user=user, role=role)
        for role, user in people.items()
    }
    memberships["owner"] = Membership.objects.get(tenant=alpha, user=world["alice"])
    return SimpleNamespace(
        alpha=alpha,
        bravo=world["tenant_b"],
        owner=world["alice"],
        bob=world["bob"],
        memberships=memberships,
        **people,
    )


def _as(client, user):
    client.force_login(user)
    return client


def get(client, user, path):
    return _as(client, user).get(path, HTTP_HOST=HOST)


def post(client, user, path, data=None):
    return _as(client, user).post(path, data or {}, HTTP_HOST=HOST)


# --- What each role is shown -----------------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "admin", "member", "viewer"])
def test_every_member_sees_the_team_and_only_the_controls_of_their_role(client, crew, who):
    tenant_services.invitation_create(
        tenant=crew.alpha, email="pending@example.com", role=Role.VIEWER,
        actor=Actor(user=crew.owner, role=Role.OWNER),
    )  # fmt: skip
    response = get(client, getattr(crew, who), TEAM)
    assert response.status_code == 200
    html = response.content.decode()
    assert "crew-member@example.com" in html and "alice@example.com" in html
    assert "bob@example.com" not in html  # bravo's owner
    admin_row = crew.memberships["admin"].pk
    member_row = crew.memberships["member"].pk
    manages = who in ("owner", "admin")
    assert ('id="invite-form"' in html) is manages
    assert (f'id="role-{member_row}"' in html) is manages
    assert (f'id="role-{admin_row}"' in html) is (who == "owner")  # only the owner: admins
    assert ("Transfer ownership" in html) is (who == "owner")
    assert ('id="invitations"' in html) is manages and ("pending@example.com" in html) is manages
    assert f"/console/team/members/{crew.memberships['owner'].pk}/" not in html
    if who == "admin":
        assert '<option value="admin"' not in html  # admins cannot make admins


def test_an_outsider_gets_404_and_a_visitor_is_sent_to_sign_in(client, crew, world):
    assert get(client, world["outsider"], TEAM).status_code == 404
    client.logout()
    assert client.get(TEAM, HTTP_HOST=HOST).status_code == 302


# --- Changes through the services -------------------------------------------------------------


def test_admin_invites_revokes_changes_a_role_and_removes_a_member(client, crew):
    invited = post(client, crew.admin, TEAM, {"email": "new@example.com", "role": "member"})
    assert invited.status_code == 302
    invitation = Invitation.objects.get(tenant=crew.alpha, email="new@example.com")
    assert invitation.role == Role.MEMBER and invitation.invited_by == crew.admin
    revoked = post(client, crew.admin, f"/console/team/invitations/{invitation.pk}/revoke/")
    assert revoked.status_code == 302
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.REVOKED

    member = crew.memberships["member"]
    changed = post(client, crew.admin, f"{TEAM}{member.pk}/role/", {"role": "viewer"})
    assert changed.status_code == 302
    member.refresh_from_db()
    assert member.role == Role.VIEWER
    confirm = get(client, crew.admin, f"{TEAM}{member.pk}/remove/")
    assert confirm.status_code == 200 and 'id="confirm-button"' in confirm.content.decode()
    removed = post(client, crew.admin, f"{TEAM}{member.pk}/remove/")
    assert removed.status_code == 302
    assert not Membership.objects.filter(pk=member.pk).exists()
    actions = set(
        AuditEvent.objects.filter(tenant_id=crew.alpha.pk).values_list("action", flat=True)
    )
    assert {"invitation.created", "invitation.revoked", "member.role_changed",
            "member.removed"} <= actions  # fmt: skip


def test_a_refusal_of_the_service_is_told_not_a_500(client, crew):
    post(client, crew.admin, TEAM, {"email": "twice@example.com", "role": "member"})
    again = post(client, crew.admin, TEAM, {"email": "twice@example.com", "role": "member"})
    assert again.status_code == 400
    assert "already has a pending invitation" in again.content.decode()


def test_the_owner_transfers_ownership_after_a_confirmation(client, crew):
    admin = crew.memberships["admin"]
    page = get(client, crew.owner, f"{TEAM}{admin.pk}/transfer/")
    assert page.status_code == 200 and "Transfer ownership" in page.content.decode()
    assert Membership.objects.get(pk=admin.pk).role == Role.ADMIN  # a GET changes nothing
    done = post(client, crew.owner, f"{TEAM}{admin.pk}/transfer/")
    assert done.status_code == 302
    assert Membership.objects.get(pk=admin.pk).role == Role.OWNER
    assert (
        crew.memberships["owner"].__class__.objects.get(pk=crew.memberships["owner"].pk).role
        == Role.ADMIN
    )
    # A member is no candidate: the page says why and offers no button.
    member_page = get(client, crew.admin, f"{TEAM}{crew.memberships['member'].pk}/transfer/")
    assert 'id="confirm-button"' not in member_page.content.decode()


# --- Forged requests ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["member", "viewer"])
def test_forged_posts_from_members_and_viewers_are_refused(client, crew, who):
    user = getattr(crew, who)
    target = crew.memberships["member" if who == "viewer" else "viewer"]
    invitation = tenant_services.invitation_create(
        tenant=crew.alpha, email="keep@example.com", role=Role.MEMBER,
        actor=Actor(user=crew.owner, role=Role.OWNER),
    )  # fmt: skip
    forged = [
        (TEAM, {"email": "x@example.com", "role": "viewer"}),
        (f"{TEAM}{target.pk}/role/", {"role": "admin"}),
        (f"{TEAM}{target.pk}/remove/", {}),
        (f"{TEAM}{crew.memberships['admin'].pk}/transfer/", {}),
        (f"/console/team/invitations/{invitation.pk}/revoke/", {}),
        (f"/console/team/invitations/{invitation.pk}/resend/", {}),
        (KEYS, {"name": "x", "authority": "member"}),
    ]
    for path, data in forged:
        assert post(client, user, path, data).status_code == 403, path
    target.refresh_from_db()
    assert target.role != Role.ADMIN and Membership.objects.filter(pk=target.pk).exists()
    assert not Invitation.objects.filter(email="x@example.com").exists()
    assert Invitation.objects.get(pk=invitation.pk).status == InvitationStatus.PENDING
    assert not ApiKey.objects.filter(tenant=crew.alpha).exists()


def test_an_admin_forging_what_only_the_owner_may_do_gets_403(client, crew):
    member = crew.memberships["member"]
    other_admin = Membership.objects.create(
        tenant=crew.alpha, user=_user("crew-admin2@example.com"), role=Role.ADMIN
    )
    forged = [
        (f"{TEAM}{member.pk}/role/", {"role": "admin"}),
        (f"{TEAM}{other_admin.pk}/role/", {"role": "viewer"}),
        (f"{TEAM}{other_admin.pk}/remove/", {}),
        (f"{TEAM}{other_admin.pk}/transfer/", {}),
        (TEAM, {"email": "boss@example.com", "role": "admin"}),
    ]
    for path, data in forged:
        assert post(client, crew.admin, path, data).status_code in (400, 403), path
    assert post(client, crew.admin, forged[0][0], forged[0][1]).status_code == 403
    assert Membership.objects.get(pk=member.pk).role == Role.MEMBER
    assert Membership.objects.get(pk=other_admin.pk).role == Role.ADMIN
    assert not Invitation.objects.filter(email="boss@example.com").exists()


def test_another_tenants_members_invitations_and_keys_answer_404(client, crew):
    bob_membership = Membership.objects.get(tenant=crew.bravo, user=crew.bob)
    theirs = tenant_services.invitation_create(
        tenant=crew.bravo, email="theirs@example.com", role=Role.MEMBER,
        actor=Actor(user=crew.bob, role=Role.OWNER),
    )  # fmt: skip
    key, _ = key_services.api_key_create(tenant=crew.bravo, name="bravo", authority="member")
    paths = [
        f"{TEAM}{bob_membership.pk}/role/",
        f"{TEAM}{bob_membership.pk}/remove/",
        f"{TEAM}{bob_membership.pk}/transfer/",
        f"/console/team/invitations/{theirs.pk}/revoke/",
        f"{KEYS}{key.pk}/revoke/",
        f"{TEAM}not-a-uuid/remove/",
    ]
    for path in paths:
        assert post(client, crew.owner, path, {"role": "viewer"}).status_code == 404, path
    assert get(client, crew.owner, f"{TEAM}{bob_membership.pk}/remove/").status_code == 404
    assert Membership.objects.get(pk=bob_membership.pk).role == Role.OWNER
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None


# --- API keys -------------------------------------------------------------------------------


def test_admin_creates_a_key_shown_once_and_revokes_it_after_a_confirmation(client, crew):
    response = post(client, crew.admin, KEYS, {"name": "ci", "authority": "member",
                                               "expires_on": "2099-01-31"})  # fmt: skip
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    html = response.content.decode()
    key = ApiKey.objects.get(tenant=crew.alpha, name="ci")
    raw = html.split('id="secret"')[1].split(">", 1)[1].split("<", 1)[0].strip()
    assert raw.startswith("qs_") and raw.endswith(key.last8)
    assert key.expires_at.isoformat().startswith("2099-01-31T00:00")
    assert 'id="copy-secret"' in html and "aria-label=" in html.split('id="copy-secret"')[1][:200]
    assert raw not in response.cookies.output()
    listing = get(client, crew.admin, KEYS).content.decode()
    assert raw not in listing and f"{key.prefix}…{key.last8}" in listing
    confirm = get(client, crew.admin, f"{KEYS}{key.pk}/revoke/")
    assert confirm.status_code == 200 and 'id="confirm-button"' in confirm.content.decode()
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None
    assert post(client, crew.admin, f"{KEYS}{key.pk}/revoke/").status_code == 302
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None


def test_key_form_refuses_a_past_expiry_and_an_empty_name(client, crew):
    response = post(client, crew.owner, KEYS, {"name": "", "authority": "member",
                                               "expires_on": "2001-01-01"})  # fmt: skip
    assert response.status_code == 400
    assert "Choose a day after today" in response.content.decode()
    assert not ApiKey.objects.filter(tenant=crew.alpha).exists()


@pytest.mark.parametrize("who", ["member", "viewer"])
def test_members_and_viewers_see_neither_keys_nor_the_form(client, crew, who):
    key_services.api_key_create(tenant=crew.alpha, name="hidden-key", authority="member")
    response = get(client, getattr(crew, who), KEYS)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="key-form"' not in html and "hidden-key" not in html
    assert "The owner and admins see and manage" in html


# --- Constant queries -----------------------------------------------------------------------


def _counted(client, user, path) -> int:
    _as(client, user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, HTTP_HOST=HOST)
    assert response.status_code == 200
    return len(queries)


def test_the_team_page_costs_the_same_queries_with_more_members_and_invitations(client, crew):
    few = _counted(client, crew.owner, TEAM)
    owner = Actor(user=crew.owner, role=Role.OWNER)
    tenant_services.tenant_entitlement_overrides_update(tenant=crew.alpha, changes={"users": 100})
    crew.alpha.refresh_from_db()
    for i in range(12):
        Membership.objects.create(tenant=crew.alpha, user=_user(f"more{i}@example.com"),
                                  role=Role.MEMBER if i % 2 else Role.ADMIN)  # fmt: skip
        tenant_services.invitation_create(
            tenant=crew.alpha, email=f"inv{i}@example.com", role=Role.VIEWER, actor=owner
        )
    many = _counted(client, crew.owner, TEAM)
    assert many == few


def test_the_key_list_costs_the_same_queries_with_more_keys(client, crew):
    key_services.api_key_create(tenant=crew.alpha, name="k0", authority="member")
    few = _counted(client, crew.admin, KEYS)
    for i in range(1, 25):
        key_services.api_key_create(
            tenant=crew.alpha, name=f"k{i}", authority="admin",
            actor=Actor(user=crew.owner if i % 2 else crew.admin, role=Role.OWNER),
        )  # fmt: skip
    many = _counted(client, crew.admin, KEYS)
    assert many == few


def test_a_suspended_tenant_shows_no_controls_and_refuses_every_post(client, crew):
    tenant_services.tenant_suspend(tenant=crew.alpha, reason="unpaid")
    key_services.api_key_create(tenant=crew.alpha, name="still-listed", authority="member")
    team = get(client, crew.owner, TEAM).content.decode()
    keys = get(client, crew.owner, KEYS).content.decode()
    assert 'id="invite-form"' not in team and "Change role" not in team
    assert 'id="key-form"' not in keys and "still-listed" in keys and "Revoke" not in keys
    member = crew.memberships["member"]
    assert (
        post(client, crew.owner, f"{TEAM}{member.pk}/role/", {"role": "viewer"}).status_code == 423
    )
    assert post(client, crew.owner, KEYS, {"name": "x", "authority": "member"}).status_code == 423
    assert Membership.objects.get(pk=member.pk).role == Role.MEMBER
