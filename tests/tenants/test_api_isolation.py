"""Every endpoint of tenants, members, invitations, operators and the inbox: another tenant's
objects answer 404, no credentials 401, a malformed body a 4xx problem."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.core.inbox import inbox_send

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


@pytest.fixture
def bravo_objects(team, invite):
    invitation, _ = invite(team.bravo, "someone@example.com", by=team.bob)
    message = inbox_send(user=team.bob, kind="test.sent", title="For Bob")
    return {"membership": team.bob_membership, "invitation": invitation, "message": message}


def test_another_tenants_members_answer_404(client_for, team, bravo_objects):
    client = client_for(team.owner, team.alpha)
    member = bravo_objects["membership"].pk
    for response in (
        client.get(f"/api/v1/members/{member}"),
        client.patch(f"/api/v1/members/{member}", {"role": "viewer"}),
        client.delete(f"/api/v1/members/{member}"),
    ):
        assert response.status_code == 404, response.content
        assert response.json()["type"] == "/problems/not-found"


def test_another_tenants_invitations_answer_404(client_for, team, bravo_objects):
    client = client_for(team.owner, team.alpha)
    invitation = bravo_objects["invitation"].pk
    for response in (
        client.get(f"/api/v1/invitations/{invitation}"),
        client.delete(f"/api/v1/invitations/{invitation}"),
        client.post(f"/api/v1/invitations/{invitation}/resend"),
    ):
        assert response.status_code == 404, response.content
    assert client.get("/api/v1/invitations").json()["results"] == []


def test_another_tenant_answers_404_for_every_tenant_action(client_for, team):
    client = client_for(team.owner)
    for ident in (str(team.bravo.pk), "bravo"):
        for response in (
            client.get(f"/api/v1/tenants/{ident}"),
            client.patch(f"/api/v1/tenants/{ident}", {"name": "Mine now"}),
            client.delete(f"/api/v1/tenants/{ident}"),
            client.post(
                f"/api/v1/tenants/{ident}/transfer-ownership", {"user_id": str(team.owner.pk)}
            ),
        ):
            assert response.status_code == 404, response.content
    team.bravo.refresh_from_db()
    assert (team.bravo.name, team.bravo.status) == ("Bravo", "active")


def test_another_users_message_answers_404(client_for, team, bravo_objects):
    response = client_for(team.owner).post(f"/api/v1/inbox/{bravo_objects['message'].pk}/read")
    assert response.status_code == 404
    bravo_objects["message"].refresh_from_db()
    assert bravo_objects["message"].read_at is None


def test_tenant_context_endpoints_of_a_tenant_i_do_not_belong_to_answer_404(
    client_for, team, bravo_objects
):
    client = client_for(team.owner, team.bravo)
    assert client.get("/api/v1/members").status_code == 404
    assert client.get("/api/v1/invitations").status_code == 404
    assert client.post("/api/v1/members/leave").status_code == 404


ENDPOINTS = [
    ("get", "/api/v1/tenants"),
    ("post", "/api/v1/tenants"),
    ("get", "/api/v1/tenants/alpha"),
    ("patch", "/api/v1/tenants/alpha"),
    ("delete", "/api/v1/tenants/alpha"),
    ("post", "/api/v1/tenants/alpha/transfer-ownership"),
    ("get", "/api/v1/members"),
    ("get", "/api/v1/members/{member}"),
    ("patch", "/api/v1/members/{member}"),
    ("delete", "/api/v1/members/{member}"),
    ("post", "/api/v1/members/leave"),
    ("get", "/api/v1/invitations"),
    ("post", "/api/v1/invitations"),
    ("get", "/api/v1/invitations/{invitation}"),
    ("delete", "/api/v1/invitations/{invitation}"),
    ("post", "/api/v1/invitations/{invitation}/resend"),
    ("post", "/api/v1/invitations/accept"),
    ("get", "/api/v1/admin/tenants"),
    ("get", "/api/v1/admin/tenants/alpha"),
    ("post", "/api/v1/admin/tenants/alpha/suspend"),
    ("post", "/api/v1/admin/tenants/alpha/resume"),
    ("patch", "/api/v1/admin/tenants/alpha/entitlement-overrides"),
    ("get", "/api/v1/inbox"),
    ("get", "/api/v1/inbox/unread-count"),
    ("post", "/api/v1/inbox/{message}/read"),
    ("post", "/api/v1/inbox/read-all"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_without_credentials_every_endpoint_answers_401(team, invite, method, path):
    invitation, _ = invite(team.alpha, "pending@example.com")
    message = inbox_send(user=team.owner, kind="test.sent", title="Hi")
    url = path.format(
        member=team.memberships["member"].pk, invitation=invitation.pk, message=message.pk
    )
    response = getattr(APIClient(), method)(url, {}, format="json")
    assert response.status_code == 401, response.content
    assert response["Content-Type"] == PROBLEM
    assert response.json()["type"] == "/problems/not-authenticated"
    assert "WWW-Authenticate" in response


BODY_ENDPOINTS = [
    ("patch", "/api/v1/tenants/alpha", None),
    ("post", "/api/v1/tenants/alpha/transfer-ownership", None),
    ("patch", "/api/v1/members/{member}", "alpha"),
    ("post", "/api/v1/invitations", "alpha"),
    ("post", "/api/v1/invitations/accept", None),
    ("post", "/api/v1/admin/tenants/alpha/suspend", None),
    ("patch", "/api/v1/admin/tenants/alpha/entitlement-overrides", None),
]


@pytest.mark.parametrize(("method", "path", "tenant"), BODY_ENDPOINTS)
def test_broken_json_is_a_400_problem(client_for, team, method, path, tenant):
    who = team.operator if "/admin/" in path else team.owner
    client = client_for(who, team.alpha if tenant else None)
    url = path.format(member=team.memberships["member"].pk)
    response = getattr(client, method)(url, data="{not json", content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["type"] == "/problems/malformed-request"


BAD_BODIES = [
    ("patch", "/api/v1/tenants/alpha", None, {"name": ""}, "name"),
    ("post", "/api/v1/tenants/alpha/transfer-ownership", None, {"user_id": "nope"}, "user_id"),
    ("patch", "/api/v1/members/{member}", "alpha", {"role": "boss"}, "role"),
    ("patch", "/api/v1/members/{member}", "alpha", {"role": "owner"}, "role"),
    ("post", "/api/v1/invitations", "alpha", {"email": "not-an-email", "role": "member"}, "email"),
    ("post", "/api/v1/invitations", "alpha", {"email": "a@example.com"}, "role"),
    ("post", "/api/v1/invitations/accept", None, {}, "token"),
    (
        "patch",
        "/api/v1/admin/tenants/alpha/entitlement-overrides",
        None,
        {"overrides": {"users": -1}},
        "overrides.users",
    ),
    (
        "patch",
        "/api/v1/admin/tenants/alpha/entitlement-overrides",
        None,
        {"overrides": {"Bad Name": 3}},
        "overrides",
    ),
]


@pytest.mark.parametrize(("method", "path", "tenant", "body", "field"), BAD_BODIES)
def test_invalid_fields_are_a_400_problem_naming_the_field(
    client_for, team, method, path, tenant, body, field
):
    who = team.operator if "/admin/" in path else team.owner
    client = client_for(who, team.alpha if tenant else None)
    url = path.format(member=team.memberships["member"].pk)
    response = getattr(client, method)(url, body, format="json")
    assert response.status_code == 400, response.content
    problem = response.json()
    assert problem["type"] == "/problems/validation-error"
    assert field in {error["field"] for error in problem["errors"]}


@pytest.mark.parametrize("path", ["/api/v1/members", "/api/v1/invitations"])
def test_tenant_context_endpoints_without_a_tenant_are_404_naming_the_header(
    client_for, team, path
):
    response = client_for(team.owner).get(path)
    assert response.status_code == 404  # like every app's (tests/core/test_tenant_required.py)
    assert "X-Tenant-ID" in response.json()["detail"]


def test_unknown_ids_answer_404(client_for, team):
    client = client_for(team.owner, team.alpha)
    missing = "00000000-0000-0000-0000-000000000000"
    assert client.get(f"/api/v1/members/{missing}").status_code == 404
    assert client.get(f"/api/v1/invitations/{missing}").status_code == 404
    assert client_for(team.operator).get("/api/v1/admin/tenants/nope").status_code == 404
    assert client_for(team.owner).post(f"/api/v1/inbox/{missing}/read").status_code == 404
