"""Unknown, revoked and expired keys get the same 401 problem: nothing tells them apart."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import ApiKey
from apps.accounts.services import api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db


def _revoked(tenant) -> str:
    api_key, raw_key = api_key_create(tenant=tenant, name="old", authority="admin")
    api_key_revoke(api_key=api_key)
    return raw_key


def _expired(tenant) -> str:
    api_key, raw_key = api_key_create(
        tenant=tenant, name="short", authority="admin", expires_at=timezone.now() + dt.timedelta(1)
    )
    ApiKey.objects.filter(pk=api_key.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    return raw_key


def _unknown(tenant) -> str:
    return "qs_" + "A" * 43


def _garbled(tenant) -> str:
    _, raw_key = api_key_create(tenant=tenant, name="k", authority="admin")
    return raw_key[:-1] + ("B" if raw_key[-1] != "B" else "C")


@pytest.mark.parametrize("make_key", [_revoked, _expired, _unknown, _garbled])
@pytest.mark.parametrize("tenant_header", ["alpha", None])
def test_bad_keys_answer_401_problem_details_with_a_challenge(make_key, tenant_header, world):
    raw_key = make_key(world["tenant_a"])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}
    if tenant_header:
        headers["HTTP_X_TENANT_ID"] = tenant_header
    response = APIClient().get("/api/v1/api-keys", **headers)

    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/problem+json")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    body = response.json()
    assert body["type"] == "/problems/not-authenticated"
    assert body["detail"] == "Invalid, expired or revoked API key."


def test_a_key_that_expires_stops_working_at_its_expiry(world):
    api_key, raw_key = api_key_create(
        tenant=world["tenant_a"],
        name="soon",
        authority="admin",
        expires_at=timezone.now() + dt.timedelta(hours=1),
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}", HTTP_X_TENANT_ID="alpha")
    assert client.get("/api/v1/api-keys").status_code == 200
    ApiKey.objects.filter(pk=api_key.pk).update(expires_at=timezone.now())
    assert client.get("/api/v1/api-keys").status_code == 401


def test_a_revoked_key_stops_working_at_once(client_for, world):
    _, raw_key = api_key_create(tenant=world["tenant_a"], name="k", authority="admin")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}", HTTP_X_TENANT_ID="alpha")
    own = client.get("/api/v1/api-keys").json()["results"][0]["id"]
    assert client.post(f"/api/v1/api-keys/{own}/revoke").status_code == 200
    assert client.get("/api/v1/api-keys").status_code == 401


@pytest.mark.parametrize(
    "header",
    ["Bearer qs_abc def", "Bearer qs_\u00e9t\u00e9", "Bearer qs_" + "x" * 200],
)
def test_malformed_qs_tokens_answer_401(header, world):
    response = APIClient().get(
        "/api/v1/api-keys", HTTP_AUTHORIZATION=header, HTTP_X_TENANT_ID="alpha"
    )
    assert response.status_code == 401
    assert response.json()["type"] == "/problems/not-authenticated"
