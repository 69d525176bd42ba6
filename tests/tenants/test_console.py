"""The tenant console at /console/ on the tenant's host: scoped to that tenant, by role."""

import pytest

from apps.accounts.models import ApiKey
from apps.core.models import AuditEvent
from apps.tenants.models import Invitation, Membership, Role

pytestmark = pytest.mark.django_db

HOST = "alpha.localhost"


def console(client, user, path="", method="get", data=None):
    client.force_login(user)
    return getattr(client, method)(f"/console/{path}", data or {}, HTTP_HOST=HOST, follow=False)


@pytest.mark.parametrize("who", ["owner", "admin", "member", "viewer"])
def test_members_of_every_role_see_their_tenant(client, team, who):
    response = console(client, getattr(team, who))
    assert response.status_code == 200
    assert "Alpha" in response.content.decode()
    members = console(client, getattr(team, who), "tenants/membership/")
    assert members.status_code == 200
    assert "dave@example.com" in members.content.decode()
    assert "bob@example.com" not in members.content.decode()  # bravo's owner


def test_a_signed_in_outsider_gets_404(client, team):
    assert console(client, team.outsider).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in_on_the_same_host(client, team):
    response = client.get("/console/", HTTP_HOST=HOST)
    assert response.status_code == 302
    assert response["Location"].startswith("/console/login/") or response["Location"].startswith(
        "/accounts/login/"
    )
    login = client.get("/console/login/?next=/console/", HTTP_HOST=HOST)
    assert login.status_code == 302
    assert login["Location"].startswith("/accounts/login/?next=")


def test_operator_may_enter_and_the_entry_is_audited(client, team):
    assert console(client, team.operator).status_code == 200
    assert AuditEvent.objects.filter(
        action="tenant.operator_entered", tenant_id=team.alpha.pk, actor_user_id=team.operator.pk
    ).exists()


def test_viewer_cannot_change_a_role(client, team):
    target = team.memberships["member"]
    response = console(
        client, team.viewer, f"tenants/membership/{target.pk}/change/", "post", {"role": "admin"}
    )
    assert response.status_code == 403
    target.refresh_from_db()
    assert target.role == Role.MEMBER


def test_admin_changes_a_member_role_through_the_service(client, team):
    target = team.memberships["member"]
    response = console(
        client, team.admin, f"tenants/membership/{target.pk}/change/", "post", {"role": "viewer"}
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.role == Role.VIEWER
    assert AuditEvent.objects.filter(action="member.role_changed", target_id=str(target.pk))


def test_admin_may_not_promote_to_admin_and_is_told_why(client, team):
    target = team.memberships["member"]
    path = f"tenants/membership/{target.pk}/change/"
    response = console(client, team.admin, path, "post", {"role": "admin"})
    assert response.status_code == 302
    assert response["Location"] == f"/console/{path}"
    page = client.get(response["Location"], HTTP_HOST=HOST).content.decode()
    assert "Only the owner can make or unmake admins" in page
    target.refresh_from_db()
    assert target.role == Role.MEMBER


def test_the_owner_row_cannot_be_changed_or_removed(client, team):
    owner = team.memberships["owner"]
    change = console(
        client, team.owner, f"tenants/membership/{owner.pk}/change/", "post", {"role": "viewer"}
    )
    delete = console(client, team.owner, f"tenants/membership/{owner.pk}/delete/", "post", {})
    assert change.status_code == delete.status_code == 403
    assert Membership.objects.get(pk=owner.pk).role == Role.OWNER


def test_another_tenants_member_answers_404(client, team):
    response = console(client, team.owner, f"tenants/membership/{team.bob_membership.pk}/change/")
    assert response.status_code in (302, 404)
    if response.status_code == 302:  # the admin redirects unknown ids to the index
        assert response["Location"] == "/console/"


def test_admin_invites_a_member_through_the_service(client, team, mailoutbox, settings):
    response = console(
        client,
        team.admin,
        "tenants/invitation/add/",
        "post",
        {"email": "new@example.com", "role": "member"},
    )
    assert response.status_code == 302
    invitation = Invitation.objects.get(tenant=team.alpha, email="new@example.com")
    assert AuditEvent.objects.filter(action="invitation.created", target_id=str(invitation.pk))


def test_member_cannot_invite(client, team):
    response = console(
        client, team.member, "tenants/invitation/add/", "post", {"email": "x@example.com"}
    )
    assert response.status_code == 403
    assert not Invitation.objects.filter(email="x@example.com").exists()


def test_admin_creates_an_api_key_shown_once_and_revokes_it(client, team):
    response = console(
        client,
        team.admin,
        "accounts/apikey/add/",
        "post",
        {"name": "ci", "authority": "member"},
    )
    # The key is on this response only: not in a message (cookie or session), not cached.
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    page = response.content.decode()
    key = ApiKey.objects.get(tenant=team.alpha, name="ci")
    raw = page.split('id="secret"')[1].split(">")[1].split("<")[0].strip()
    assert raw.startswith("qs_") and raw.endswith(key.last8)
    assert raw not in response.cookies.output()
    assert raw not in client.get("/console/accounts/apikey/", HTTP_HOST=HOST).content.decode()
    revoke = client.post(
        "/console/accounts/apikey/",
        {"action": "revoke_selected", "_selected_action": [str(key.pk)]},
        HTTP_HOST=HOST,
    )
    assert revoke.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_members_neither_see_nor_create_keys(client, team):
    """As in the API (GET /api/v1/api-keys is admin and up): the old list's address is 403."""
    assert console(client, team.member, "accounts/apikey/").status_code == 403
    assert console(client, team.viewer, "accounts/apikey/").status_code == 403
    response = console(
        client, team.member, "accounts/apikey/add/", "post", {"name": "x", "authority": "member"}
    )
    assert response.status_code == 403


def test_members_see_their_apps_and_only_theirs(client, team):
    from django_tenants.utils import schema_context

    from apps.deploy.models import App

    with schema_context(team.alpha.schema_name):
        App.objects.create(name="alpha-web")
    with schema_context(team.bravo.schema_name):
        App.objects.create(name="bravo-web")
    page = console(client, team.viewer, "deploy/app/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "alpha-web" in html and "bravo-web" not in html


def test_viewers_get_no_deploy_actions_members_do(client, team):
    viewer_page = console(client, team.viewer, "deploy/app/").content.decode()
    member_page = console(client, team.member, "deploy/app/").content.decode()
    assert "deploy_branch" not in viewer_page
    assert "deploy_branch" in member_page


def test_lists_filter_only_by_the_filters_they_offer(client, team):
    """Any other lookup would be an oracle on a column (a key's hash, an invitation's token)."""
    refused = (
        "accounts/apikey/?key_hash__startswith=a",
        "tenants/invitation/?token_hash__gt=0",
        "tenants/membership/?user__password__startswith=pbkdf2",
        "tenants/membership/?user__email__endswith=example.com",
        "deploy/app/?id__gt=0",
    )
    for page in refused:
        assert console(client, team.admin, page).status_code == 400, page
    offered = (
        "tenants/membership/?role__exact=member",
        "tenants/invitation/?status__exact=pending",
        "tenants/membership/?q=erin",
    )
    for page in offered:
        assert console(client, team.viewer, page).status_code == 200, page
    assert (
        console(client, team.admin, "accounts/apikey/?authority__exact=member").status_code == 200
    )
    filtered = console(client, team.viewer, "tenants/membership/?role__exact=member")
    assert "erin@example.com" in filtered.content.decode()
    assert "dave@example.com" not in filtered.content.decode()  # an admin
