"""The raw key is in the create answer only: never listed, never read back."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_create_answers_the_raw_key_once_and_never_again(client_for, world):
    alice = client_for(world["alice"], world["tenant_a"])
    created = alice.post("/api/v1/api-keys", {"name": "CI", "authority": "member"})
    assert created.status_code == 201, created.json()
    body = created.json()
    raw_key = body["key"]
    assert raw_key.startswith("qs_") and len(raw_key) >= 40
    assert body["prefix"] == raw_key[:9]
    assert body["last8"] == raw_key[-8:]
    assert body["status"] == "active"
    assert created["Location"] == f"/api/v1/api-keys/{body['id']}"
    assert created["Cache-Control"] == "no-store"

    listed = alice.get("/api/v1/api-keys")
    read = alice.get(f"/api/v1/api-keys/{body['id']}")
    revoked = alice.post(f"/api/v1/api-keys/{body['id']}/revoke")
    for response in (listed, read, revoked):
        assert response.status_code == 200
        assert raw_key not in response.content.decode()
        assert "key_hash" not in response.content.decode()
    assert [row["id"] for row in listed.json()["results"]] == [body["id"]]
    assert "key" not in listed.json()["results"][0]
    assert "key" not in read.json()


def test_the_raw_key_works_as_a_bearer_token(client_for, world):
    alice = client_for(world["alice"], world["tenant_a"])
    raw_key = alice.post("/api/v1/api-keys", {"name": "Ops", "authority": "admin"}).json()["key"]

    response = APIClient().get(
        "/api/v1/api-keys", HTTP_AUTHORIZATION=f"Bearer {raw_key}", HTTP_X_TENANT_ID="alpha"
    )
    assert response.status_code == 200
    assert response.json()["results"][0]["name"] == "Ops"


def test_each_key_is_different(client_for, world):
    alice = client_for(world["alice"], world["tenant_a"])
    keys = {
        alice.post("/api/v1/api-keys", {"name": f"k{i}", "authority": "member"}).json()["key"]
        for i in range(5)
    }
    assert len(keys) == 5
