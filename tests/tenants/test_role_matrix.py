"""Who may do what: every endpoint of tenants, members, invitations, API keys, inbox and the
operator tenants API, called by each kind of caller. Tenant-context calls name tenant alpha in
X-Tenant-ID. (Cross-tenant 404s and missing-credential 401s: test_api_isolation.py.)"""

from __future__ import annotations

import pytest

from apps.accounts.services import api_key_create
from apps.tenants.models import Role

from .factories import caller

pytestmark = pytest.mark.django_db

ROLES = ("owner", "admin", "member", "viewer", "outsider", "operator")


def _key(team):
    key, _ = api_key_create(tenant=team.alpha, name="matrix", authority="member")
    return key


def _invitation(team, invite, role=Role.MEMBER):
    invitation, _ = invite(team.alpha, f"new-{role}@example.com", role, by=team.owner)
    return invitation


ACTIONS = {
    # name: (request maker, {caller: expected status})
    "list members": (
        lambda c, t, i: c.get("/api/v1/members"),
        dict(owner=200, admin=200, member=200, viewer=200, outsider=404, operator=200),
    ),
    "show a member": (
        lambda c, t, i: c.get(f"/api/v1/members/{t.memberships['member'].pk}"),
        dict(owner=200, admin=200, member=200, viewer=200, outsider=404, operator=200),
    ),
    "member -> viewer": (
        lambda c, t, i: c.patch(
            f"/api/v1/members/{t.memberships['member'].pk}", {"role": "viewer"}
        ),
        dict(owner=200, admin=200, member=403, viewer=403, outsider=404, operator=200),
    ),
    "member -> admin": (
        lambda c, t, i: c.patch(f"/api/v1/members/{t.memberships['member'].pk}", {"role": "admin"}),
        dict(owner=200, admin=403, member=403, viewer=403, outsider=404, operator=403),
    ),
    "admin -> member": (
        lambda c, t, i: c.patch(f"/api/v1/members/{t.memberships['admin'].pk}", {"role": "member"}),
        dict(owner=200, admin=403, member=403, viewer=403, outsider=404, operator=403),
    ),
    "owner -> admin": (
        lambda c, t, i: c.patch(f"/api/v1/members/{t.memberships['owner'].pk}", {"role": "admin"}),
        dict(owner=409, admin=409, member=403, viewer=403, outsider=404, operator=409),
    ),
    "remove a viewer": (
        lambda c, t, i: c.delete(f"/api/v1/members/{t.memberships['viewer'].pk}"),
        dict(owner=204, admin=204, member=403, viewer=403, outsider=404, operator=204),
    ),
    "remove an admin": (
        lambda c, t, i: c.delete(f"/api/v1/members/{t.memberships['admin'].pk}"),
        dict(owner=204, admin=403, member=403, viewer=403, outsider=404, operator=403),
    ),
    "remove the owner": (
        lambda c, t, i: c.delete(f"/api/v1/members/{t.memberships['owner'].pk}"),
        dict(owner=409, admin=409, member=403, viewer=403, outsider=404, operator=409),
    ),
    "leave": (
        lambda c, t, i: c.post("/api/v1/members/leave"),
        dict(owner=409, admin=204, member=204, viewer=204, outsider=404, operator=409),
    ),
    "list invitations": (
        lambda c, t, i: c.get("/api/v1/invitations"),
        dict(owner=200, admin=200, member=403, viewer=403, outsider=404, operator=200),
    ),
    "show an invitation": (
        lambda c, t, i: c.get(f"/api/v1/invitations/{_invitation(t, i).pk}"),
        dict(owner=200, admin=200, member=403, viewer=403, outsider=404, operator=200),
    ),
    "invite a member": (
        lambda c, t, i: c.post("/api/v1/invitations", {"email": "x@example.com", "role": "member"}),
        dict(owner=201, admin=201, member=403, viewer=403, outsider=404, operator=201),
    ),
    "invite a viewer": (
        lambda c, t, i: c.post("/api/v1/invitations", {"email": "x@example.com", "role": "viewer"}),
        dict(owner=201, admin=201, member=403, viewer=403, outsider=404, operator=201),
    ),
    "invite an admin": (
        lambda c, t, i: c.post("/api/v1/invitations", {"email": "x@example.com", "role": "admin"}),
        dict(owner=201, admin=403, member=403, viewer=403, outsider=404, operator=403),
    ),
    "invite an owner": (
        lambda c, t, i: c.post("/api/v1/invitations", {"email": "x@example.com", "role": "owner"}),
        dict(owner=400, admin=400, member=403, viewer=403, outsider=404, operator=400),
    ),
    "revoke a member invitation": (
        lambda c, t, i: c.delete(f"/api/v1/invitations/{_invitation(t, i).pk}"),
        dict(owner=204, admin=204, member=403, viewer=403, outsider=404, operator=204),
    ),
    "revoke an admin invitation": (
        lambda c, t, i: c.delete(f"/api/v1/invitations/{_invitation(t, i, Role.ADMIN).pk}"),
        dict(owner=204, admin=403, member=403, viewer=403, outsider=404, operator=403),
    ),
    "resend a member invitation": (
        lambda c, t, i: c.post(f"/api/v1/invitations/{_invitation(t, i).pk}/resend"),
        dict(owner=200, admin=200, member=403, viewer=403, outsider=404, operator=200),
    ),
    "resend an admin invitation": (
        lambda c, t, i: c.post(f"/api/v1/invitations/{_invitation(t, i, Role.ADMIN).pk}/resend"),
        dict(owner=200, admin=403, member=403, viewer=403, outsider=404, operator=403),
    ),
    "list API keys": (
        lambda c, t, i: c.get("/api/v1/api-keys"),
        dict(owner=200, admin=200, member=403, viewer=403, outsider=404, operator=200),
    ),
    "create a member API key": (
        lambda c, t, i: c.post("/api/v1/api-keys", {"name": "ci", "authority": "member"}),
        dict(owner=201, admin=201, member=403, viewer=403, outsider=404, operator=201),
    ),
    "show an API key": (
        lambda c, t, i: c.get(f"/api/v1/api-keys/{_key(t).pk}"),
        dict(owner=200, admin=200, member=403, viewer=403, outsider=404, operator=200),
    ),
    "revoke an API key": (
        lambda c, t, i: c.post(f"/api/v1/api-keys/{_key(t).pk}/revoke"),
        dict(owner=200, admin=200, member=403, viewer=403, outsider=404, operator=200),
    ),
}

# Public-level (no X-Tenant-ID): the role is the caller's own in the tenant addressed.
PUBLIC_ACTIONS = {
    "show the tenant": (
        lambda c, t, i: c.get("/api/v1/tenants/alpha"),
        dict(owner=200, admin=200, member=200, viewer=200, outsider=404, operator=404),
    ),
    "rename the tenant": (
        lambda c, t, i: c.patch("/api/v1/tenants/alpha", {"name": "Alpha 2"}),
        dict(owner=200, admin=200, member=403, viewer=403, outsider=404, operator=404),
    ),
    "delete the tenant": (
        lambda c, t, i: c.delete("/api/v1/tenants/alpha"),
        dict(owner=204, admin=403, member=403, viewer=403, outsider=404, operator=404),
    ),
    "transfer ownership": (
        lambda c, t, i: c.post(
            "/api/v1/tenants/alpha/transfer-ownership", {"user_id": str(t.admin.pk)}
        ),
        dict(owner=200, admin=403, member=403, viewer=403, outsider=404, operator=404),
    ),
    "my inbox": (
        lambda c, t, i: c.get("/api/v1/inbox"),
        dict(owner=200, admin=200, member=200, viewer=200, outsider=200, operator=200),
    ),
    "who am I": (
        lambda c, t, i: c.get("/api/v1/auth/me"),
        dict(owner=200, admin=200, member=200, viewer=200, outsider=200, operator=200),
    ),
    "operators: list tenants": (
        lambda c, t, i: c.get("/api/v1/admin/tenants"),
        dict(owner=403, admin=403, member=403, viewer=403, outsider=403, operator=200),
    ),
    "operators: show a tenant": (
        lambda c, t, i: c.get("/api/v1/admin/tenants/alpha"),
        dict(owner=403, admin=403, member=403, viewer=403, outsider=403, operator=200),
    ),
    "operators: suspend": (
        lambda c, t, i: c.post("/api/v1/admin/tenants/alpha/suspend", {"reason": "test"}),
        dict(owner=403, admin=403, member=403, viewer=403, outsider=403, operator=200),
    ),
    "operators: resume": (
        lambda c, t, i: c.post("/api/v1/admin/tenants/alpha/resume"),
        dict(owner=403, admin=403, member=403, viewer=403, outsider=403, operator=200),
    ),
    "operators: override limits": (
        lambda c, t, i: c.patch(
            "/api/v1/admin/tenants/alpha/entitlement-overrides", {"overrides": {"users": 20}}
        ),
        dict(owner=403, admin=403, member=403, viewer=403, outsider=403, operator=200),
    ),
}


def _cases(actions):
    return [
        pytest.param(name, who, expected[who], id=f"{name} by {who}")
        for name, (_, expected) in actions.items()
        for who in ROLES
    ]


@pytest.mark.parametrize(("name", "who", "expected"), _cases(ACTIONS))
def test_tenant_context_endpoints(client_for, team, invite, name, who, expected):
    make_request, _ = ACTIONS[name]
    response = make_request(client_for(caller(team, who), team.alpha), team, invite)
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(("name", "who", "expected"), _cases(PUBLIC_ACTIONS))
def test_public_endpoints(client_for, team, invite, name, who, expected):
    make_request, _ = PUBLIC_ACTIONS[name]
    response = make_request(client_for(caller(team, who)), team, invite)
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert response["Content-Type"] == "application/problem+json"
