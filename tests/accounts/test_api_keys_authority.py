"""A key acts with its authority: member keys cannot manage keys, and no caller can mint a key
with more authority than its own role."""

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import ApiKey
from apps.accounts.services import AuthorityNotAllowed, api_key_create
from apps.core.actor import Actor

pytestmark = pytest.mark.django_db


def _key_client(tenant, authority: str) -> APIClient:
    _, raw_key = api_key_create(tenant=tenant, name=f"{authority} key", authority=authority)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}", HTTP_X_TENANT_ID=tenant.slug)
    return client


@pytest.mark.parametrize(
    ("authority", "list_status", "create_status"),
    [("admin", 200, 201), ("member", 403, 403)],
)
def test_only_admin_keys_list_and_create_keys(authority, list_status, create_status, world):
    client = _key_client(world["tenant_a"], authority)
    assert client.get("/api/v1/api-keys").status_code == list_status
    created = client.post("/api/v1/api-keys", {"name": "made by key", "authority": "member"})
    assert created.status_code == create_status


@pytest.mark.parametrize(
    ("caller_authority", "new_authority", "status"),
    [
        ("member", "admin", 403),
        ("member", "member", 403),  # members cannot manage keys at all
        ("admin", "member", 201),
        ("admin", "admin", 201),
    ],
)
def test_a_key_cannot_mint_a_key_above_itself(caller_authority, new_authority, status, world):
    client = _key_client(world["tenant_a"], caller_authority)
    response = client.post("/api/v1/api-keys", {"name": "minted", "authority": new_authority})
    assert response.status_code == status
    assert ApiKey.objects.filter(name="minted").exists() == (status == 201)


def test_the_minted_key_carries_the_authority_asked_for(world):
    client = _key_client(world["tenant_a"], "admin")
    body = client.post("/api/v1/api-keys", {"name": "ci", "authority": "member"}).json()
    minted = APIClient()
    minted.credentials(HTTP_AUTHORIZATION=f"Bearer {body['key']}", HTTP_X_TENANT_ID="alpha")
    assert minted.get("/api/v1/api-keys").status_code == 403


@pytest.mark.parametrize(
    ("actor_role", "authority", "allowed"),
    [
        ("viewer", "member", False),
        ("viewer", "admin", False),
        ("member", "admin", False),
        ("member", "member", True),
        ("admin", "admin", True),
        ("owner", "admin", True),
        (None, "admin", True),  # an operator in the admin
    ],
)
def test_the_service_refuses_authority_above_the_callers_role(
    actor_role, authority, allowed, world
):
    def make():
        return api_key_create(
            tenant=world["tenant_a"], name="k", authority=authority, actor=Actor(role=actor_role)
        )

    if allowed:
        assert make()[0].authority == authority
    else:
        with pytest.raises(AuthorityNotAllowed):
            make()


def test_the_service_refuses_a_key_acting_for_another_tenant(world):
    bravo_key, _ = api_key_create(tenant=world["tenant_b"], name="bravo", authority="admin")
    with pytest.raises(AuthorityNotAllowed):
        api_key_create(
            tenant=world["tenant_a"], name="k", authority="member", actor=Actor(api_key=bravo_key)
        )
