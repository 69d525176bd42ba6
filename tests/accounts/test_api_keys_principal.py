"""request.user for an API key is a small principal: code that reads request.user copes with it."""

import pytest
from rest_framework.test import APIClient

from apps.accounts.authentication import ApiKeyPrincipal
from apps.accounts.services import api_key_create
from apps.core.api.principals import principal_of

pytestmark = pytest.mark.django_db


def test_the_principal_is_authenticated_but_no_user_staff_or_superuser(world):
    api_key, _ = api_key_create(tenant=world["tenant_a"], name="k", authority="admin")
    principal = ApiKeyPrincipal(api_key)
    assert principal.is_authenticated and not principal.is_anonymous
    assert not principal.is_staff and not principal.is_superuser
    assert principal.pk is None and principal.id is None
    assert not principal.has_perm("accounts.change_apikey")
    assert str(principal) == f"API key k ({api_key.prefix}…)"


def test_principal_of_names_the_key_bucket(world):
    api_key, _ = api_key_create(tenant=world["tenant_a"], name="k", authority="admin")

    class Request:
        auth = api_key
        user = ApiKeyPrincipal(api_key)
        META = {"REMOTE_ADDR": "10.0.0.1"}

    assert principal_of(Request()) == f"key:{api_key.pk}" == api_key.throttle_ident


def test_tenant_access_and_role_checks_read_the_key_not_the_principal(world):
    """TenantMember never looks for a membership of the principal (it has no pk to look for)."""
    _, raw_key = api_key_create(tenant=world["tenant_a"], name="k", authority="member")
    response = APIClient().get(
        "/api/v1/api-keys", HTTP_AUTHORIZATION=f"Bearer {raw_key}", HTTP_X_TENANT_ID="alpha"
    )
    assert response.status_code == 403
    assert response.json()["type"] == "/problems/permission-denied"
