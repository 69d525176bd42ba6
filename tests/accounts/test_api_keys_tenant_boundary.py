"""A key acts in its own tenant only: another tenant is 404 (as if missing), no tenant is 403,
and another tenant's key ids are 404 whoever asks."""

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import ApiKey
from apps.accounts.services import api_key_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def alpha_key(world) -> str:
    return api_key_create(tenant=world["tenant_a"], name="alpha ops", authority="admin")[1]


WHERE = {
    "own tenant by header": ({"HTTP_X_TENANT_ID": "alpha"}, 200),
    "own tenant by host": ({"HTTP_HOST": "alpha.localhost"}, 200),
    "other tenant by header": ({"HTTP_X_TENANT_ID": "bravo"}, 404),
    "other tenant by host": ({"HTTP_HOST": "bravo.localhost"}, 404),
    "no tenant (root host)": ({}, 403),
}


@pytest.mark.parametrize(("where", "status"), WHERE.values(), ids=WHERE.keys())
def test_a_key_reaches_its_own_tenant_only(alpha_key, where, status):
    response = APIClient().get(
        "/api/v1/api-keys", HTTP_AUTHORIZATION=f"Bearer {alpha_key}", **where
    )
    assert response.status_code == status, response.content


@pytest.mark.parametrize(
    ("where", "status"), [v for v in WHERE.values() if v[1] != 200], ids=list(WHERE)[2:]
)
def test_the_boundary_holds_on_other_endpoints_too(alpha_key, where, status):
    response = APIClient().get("/api/v1/tenants", HTTP_AUTHORIZATION=f"Bearer {alpha_key}", **where)
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/problem+json")


def test_another_tenants_tenant_answers_like_a_missing_one(alpha_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {alpha_key}")
    bravo = client.get("/api/v1/api-keys", HTTP_X_TENANT_ID="bravo").json()
    missing = client.get("/api/v1/api-keys", HTTP_X_TENANT_ID="nope").json()
    strip = {"request_id", "instance"}
    assert {k: v for k, v in bravo.items() if k not in strip} == {
        k: v for k, v in missing.items() if k not in strip
    }


@pytest.mark.parametrize("caller", ["alice", "alpha_admin_key"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_another_tenants_key_id_answers_404(caller, method, client_for, world, alpha_key):
    bravo_key, _ = api_key_create(tenant=world["tenant_b"], name="bravo ci", authority="member")
    if caller == "alice":
        client = client_for(world["alice"], world["tenant_a"])
    else:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {alpha_key}", HTTP_X_TENANT_ID="alpha")
    path = f"/api/v1/api-keys/{bravo_key.pk}"
    response = client.get(path) if method == "get" else client.post(f"{path}/revoke")
    assert response.status_code == 404
    assert response.json()["type"] == "/problems/not-found"
    bravo_key.refresh_from_db()
    assert bravo_key.revoked_at is None


@pytest.mark.parametrize("key_id", ["nope", "00000000-0000-0000-0000-000000000000"])
def test_malformed_and_unknown_ids_answer_404(key_id, client_for, world):
    client = client_for(world["alice"], world["tenant_a"])
    assert client.get(f"/api/v1/api-keys/{key_id}").status_code == 404
    assert client.post(f"/api/v1/api-keys/{key_id}/revoke").status_code == 404


def test_lists_hold_the_callers_tenant_only(client_for, world):
    api_key_create(tenant=world["tenant_a"], name="alpha one", authority="member")
    api_key_create(tenant=world["tenant_b"], name="bravo one", authority="member")
    names = {
        row["name"]
        for row in client_for(world["alice"], world["tenant_a"])
        .get("/api/v1/api-keys")
        .json()["results"]
    }
    assert names == {"alpha one"}
    assert ApiKey.objects.count() == 2


def test_a_user_without_a_tenant_is_told_where_keys_live(client_for, world):
    response = client_for(world["alice"]).get("/api/v1/api-keys")
    assert response.status_code == 404
    assert "X-Tenant-ID" in response.json()["detail"]
