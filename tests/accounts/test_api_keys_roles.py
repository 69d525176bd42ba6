"""Who may do what with /api/v1/api-keys: one row per caller, one column per action."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from apps.accounts.services import api_key_create
from apps.tenants.models import Membership

pytestmark = pytest.mark.django_db

ACTIONS = ("list", "create", "retrieve", "revoke")
ALLOWED = (200, 201, 200, 200)
EXPECTED = {
    "owner": ALLOWED,
    "admin": ALLOWED,
    "member": (403, 403, 403, 403),
    "viewer": (403, 403, 403, 403),
    "outsider": (404, 404, 404, 404),  # not a member: the tenant "does not exist"
    "operator": ALLOWED,  # staff act as admins, audited
    "anonymous": (404, 404, 404, 404),  # tenant routes never confirm a tenant to strangers
    "admin_key": ALLOWED,
    "member_key": (403, 403, 403, 403),
}


def _member(tenant, role: str):
    user = get_user_model().objects.create_user(
        username=f"{role}@alpha.test", email=f"{role}@alpha.test", password="pw"
    )
    Membership.objects.create(tenant=tenant, user=user, role=role)
    return user


def _client(caller: str, world, client_for) -> APIClient:
    tenant = world["tenant_a"]
    users = {"owner": world["alice"], "outsider": world["outsider"], "operator": world["operator"]}
    if caller in users:
        return client_for(users[caller], tenant)
    if caller in ("admin", "member", "viewer"):
        return client_for(_member(tenant, caller), tenant)
    client = APIClient()
    client.credentials(HTTP_X_TENANT_ID=tenant.slug)
    if caller.endswith("_key"):
        authority = caller.removesuffix("_key")
        _, raw_key = api_key_create(tenant=tenant, name=caller, authority=authority)
        client.credentials(HTTP_X_TENANT_ID=tenant.slug, HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def _call(client: APIClient, action: str, key_id: str):
    if action == "list":
        return client.get("/api/v1/api-keys")
    if action == "create":
        return client.post("/api/v1/api-keys", {"name": "new", "authority": "member"})
    if action == "retrieve":
        return client.get(f"/api/v1/api-keys/{key_id}")
    return client.post(f"/api/v1/api-keys/{key_id}/revoke")


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("caller", EXPECTED)
def test_role_action_table(caller, action, world, client_for):
    target, _ = api_key_create(tenant=world["tenant_a"], name="target", authority="member")
    client = _client(caller, world, client_for)

    response = _call(client, action, str(target.pk))

    expected = EXPECTED[caller][ACTIONS.index(action)]
    assert response.status_code == expected, (caller, action, response.content)
    if expected >= 400:
        assert response["Content-Type"].startswith("application/problem+json")
        target.refresh_from_db()
        assert target.revoked_at is None
