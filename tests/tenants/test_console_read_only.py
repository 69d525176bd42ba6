"""A suspended tenant's console is read-only, as its API is: every page still loads, every write
(add, change, delete, action) answers 423 with a page that says why and changes nothing, and the
index says the tenant is suspended."""

import pytest
from django_tenants.utils import schema_context

from apps.accounts.models import ApiKey
from apps.accounts.services import api_key_create
from apps.core.actor import Actor
from apps.core.models import AuditEvent
from apps.deploy.models import App
from apps.tenants.models import Invitation, Membership, Role, Tenant, TenantStatus

pytestmark = pytest.mark.django_db

HOST = "alpha.localhost"
REFUSED = "This tenant is suspended"


def console(client, user, path="", method="get", data=None):
    client.force_login(user)
    return getattr(client, method)(f"/console/{path}", data or {}, HTTP_HOST=HOST, follow=False)


def suspend(team):
    Tenant.objects.filter(pk=team.alpha.pk).update(status=TenantStatus.SUSPENDED)
    return team


@pytest.fixture
def suspended(team):
    return suspend(team)


def test_an_active_tenant_shows_no_banner(client, team):
    page = console(client, team.admin)
    assert page.status_code == 200 and "read-only" not in page.content.decode()


@pytest.mark.parametrize("who", ["owner", "admin", "member", "viewer"])
def test_every_page_loads_and_the_index_says_read_only(client, suspended, who):
    index = console(client, getattr(suspended, who))
    assert index.status_code == 200
    assert "suspended and read-only" in index.content.decode()
    for page in ("tenants/membership/", "tenants/invitation/", "accounts/apikey/", "deploy/app/"):
        expected = 403 if page == "accounts/apikey/" and who in ("member", "viewer") else 200
        assert console(client, getattr(suspended, who), page).status_code == expected, page
    member = suspended.memberships["member"]
    change = console(client, getattr(suspended, who), f"tenants/membership/{member.pk}/change/")
    assert change.status_code == 200


def test_pages_offer_no_add_change_delete_or_action(client, suspended):
    assert console(client, suspended.owner, "tenants/invitation/add/").status_code == 403
    assert console(client, suspended.owner, "accounts/apikey/add/").status_code == 403
    invitations = console(client, suspended.owner, "tenants/invitation/").content.decode()
    assert "revoke_selected" not in invitations
    assert "/console/tenants/invitation/add/" not in invitations
    assert "deploy_branch" not in console(client, suspended.member, "deploy/app/").content.decode()


def test_every_write_answers_423_and_changes_nothing(client, team, invite, mailoutbox):
    key, _raw = api_key_create(
        tenant=team.alpha,
        name="old",
        authority="member",
        actor=Actor(user=team.owner, role=Role.OWNER),
    )
    invitation, _token = invite(team.alpha, "pending@example.com")
    with schema_context(team.alpha.schema_name):
        app = App.objects.create(name="alpha-web")
    suspend(team)
    mailoutbox.clear()
    changes = AuditEvent.objects.exclude(action="user.logged_in").count  # each console() signs in
    audited = changes()
    member = team.memberships["member"]
    writes = [
        ("tenants/invitation/add/", {"email": "late@example.com", "role": "member"}),
        ("tenants/invitation/", {"action": "resend_selected", "_selected_action": [invitation.pk]}),
        ("tenants/invitation/", {"action": "revoke_selected", "_selected_action": [invitation.pk]}),
        (f"tenants/membership/{member.pk}/change/", {"role": "viewer"}),
        (f"tenants/membership/{member.pk}/delete/", {"post": "yes"}),
        ("accounts/apikey/add/", {"name": "late", "authority": "member"}),
        ("accounts/apikey/", {"action": "revoke_selected", "_selected_action": [str(key.pk)]}),
        ("deploy/app/", {"action": "restart", "_selected_action": [str(app.pk)]}),
    ]
    for path, data in writes:
        response = console(client, team.owner, path, "post", data)
        assert response.status_code == 423, path
        assert REFUSED in response.content.decode(), path
    assert not Invitation.objects.filter(email="late@example.com").exists()
    assert Invitation.objects.get(pk=invitation.pk).status == invitation.status
    assert Membership.objects.get(pk=member.pk).role == Role.MEMBER
    assert not ApiKey.objects.filter(name="late").exists()
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None
    assert changes() == audited and mailoutbox == []


def test_signing_out_still_works(client, suspended):
    response = console(client, suspended.viewer, "logout/", "post")
    assert response.status_code in (200, 302)
    assert "_auth_user_id" not in client.session


def test_outsiders_learn_nothing_of_the_suspension(client, suspended):
    assert console(client, suspended.outsider, "tenants/invitation/add/", "post").status_code == 404
    client.logout()
    anonymous = client.post("/console/tenants/invitation/add/", {}, HTTP_HOST=HOST)
    assert anonymous.status_code == 302 and REFUSED not in anonymous.content.decode()
