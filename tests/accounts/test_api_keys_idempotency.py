"""Idempotency-Key on create: a replay answers the same key object, but the raw key is kept
nowhere, not even in the idempotency cache, so the replay carries `key: null`."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from apps.accounts.models import ApiKey
from apps.accounts.services import api_key_create
from apps.core import crypto
from apps.core.heartbeat import redis_client

pytestmark = pytest.mark.django_db


def _cached_values() -> list[bytes]:
    client = redis_client()
    return [client.get(key) or b"" for key in client.scan_iter(match=cache.make_key("idem:*"))]


@pytest.mark.parametrize("caller", ["user", "api_key"])
def test_a_replayed_create_makes_no_second_key_and_never_stores_the_raw_key(
    caller, client_for, world
):
    if caller == "user":
        client = client_for(world["alice"], world["tenant_a"])
    else:
        _, admin_raw = api_key_create(tenant=world["tenant_a"], name="admin", authority="admin")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {admin_raw}", HTTP_X_TENANT_ID="alpha")
    body = {"name": f"CI {caller}", "authority": "member"}
    idem = {"HTTP_IDEMPOTENCY_KEY": f"make-ci-key-{caller}"}

    first = client.post("/api/v1/api-keys", body, **idem)
    again = client.post("/api/v1/api-keys", body, **idem)

    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert first.json()["key"].startswith("qs_")
    assert again.json()["key"] is None
    assert ApiKey.objects.filter(name=body["name"]).count() == 1
    raw_key = first.json()["key"].encode()
    values = _cached_values()
    # The stored answer is there (encrypted: it opens to one with the key's prefix), only the
    # raw key is not, not even inside the encrypted answer.
    keys = redis_client().scan_iter(match=cache.make_key("idem:*"))
    entries = [cache.get(key.decode().split(":", 2)[2]) for key in keys]  # prefix:version:key
    answers = [crypto.decrypt(e["response"]) for e in entries if e and "response" in e]
    assert any(first.json()["prefix"] in answer for answer in answers)
    assert not any(raw_key in value for value in values)
    assert not any(raw_key.decode() in answer for answer in answers)
