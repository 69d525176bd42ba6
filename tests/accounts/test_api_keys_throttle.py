"""Rate limits count per key (`throttle_ident`): keys of one tenant, and the people who made
them, each have their own budget."""

import pytest
from django.core.cache import cache
from django.test import override_settings
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from apps.accounts.services import api_key_create
from apps.core.heartbeat import redis_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counters():
    client = redis_client()
    for key in client.scan_iter(match=cache.make_key("throttle:*")):
        client.delete(key)


def _rates(read: str, write: str):
    return override_settings(
        REST_FRAMEWORK={
            **api_settings.user_settings,
            "DEFAULT_THROTTLE_RATES": {"read": read, "write": write},
        }
    )


def _key_client(tenant, name: str):
    api_key, raw_key = api_key_create(tenant=tenant, name=name, authority="admin")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}", HTTP_X_TENANT_ID=tenant.slug)
    return api_key, client


def test_each_key_has_its_own_budget(client_for, world):
    first_key, first = _key_client(world["tenant_a"], "one")
    _, second = _key_client(world["tenant_a"], "two")
    with _rates("2/min", "100/min"):
        statuses = [first.get("/api/v1/api-keys").status_code for _ in range(3)]
        other = second.get("/api/v1/api-keys")
        person = client_for(world["alice"], world["tenant_a"]).get("/api/v1/api-keys")
    assert statuses == [200, 200, 429]
    assert other.status_code == 200
    assert person.status_code == 200
    counters = [
        key.decode() for key in redis_client().scan_iter(match=cache.make_key("throttle:read:*"))
    ]
    assert any(f":{first_key.throttle_ident}:" in key for key in counters)


def test_the_429_is_a_problem_with_retry_after(world):
    _, client = _key_client(world["tenant_a"], "busy")
    with _rates("100/min", "1/min"):
        assert (
            client.post("/api/v1/api-keys", {"name": "a", "authority": "member"}).status_code == 201
        )
        blocked = client.post("/api/v1/api-keys", {"name": "b", "authority": "member"})
    assert blocked.status_code == 429
    assert blocked.json()["type"] == "/problems/rate-limited"
    assert 1 <= int(blocked["Retry-After"]) <= 60
