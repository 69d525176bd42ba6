import time

import pytest
from django.core.cache import cache
from django.test import override_settings
from rest_framework.settings import api_settings

from apps.core.heartbeat import redis_client

pytestmark = pytest.mark.django_db


def rates(read: str, write: str):
    return override_settings(
        REST_FRAMEWORK={
            **api_settings.user_settings,
            "DEFAULT_THROTTLE_RATES": {"read": read, "write": write},
        }
    )


@pytest.fixture(autouse=True)
def _fresh_counters():
    """Counters are per user and minute; other tests' requests must not count here. Windows are
    fixed minutes, so a test starts well before one ends (a slow request could cross it)."""
    into_minute = time.time() % 60
    if into_minute > 50:
        time.sleep(60.2 - into_minute)
    client = redis_client()
    pattern = cache.make_key("throttle:*")
    for key in client.scan_iter(match=pattern):
        client.delete(key)


def test_reads_over_the_limit_get_429_with_retry_after(client_for, world):
    client = client_for(world["outsider"])
    with rates("3/min", "100/min"):
        statuses = [client.get("/api/v1/tenants").status_code for _ in range(3)]
        blocked = client.get("/api/v1/tenants")
    assert statuses == [200, 200, 200]
    assert blocked.status_code == 429
    assert blocked["Content-Type"].startswith("application/problem+json")
    assert blocked.json()["type"] == "/problems/rate-limited"
    assert 1 <= int(blocked["Retry-After"]) <= 60
    assert blocked["RateLimit-Limit"] == "3"
    assert blocked["RateLimit-Remaining"] == "0"


def test_reads_and_writes_have_separate_budgets_per_user(client_for, world):
    with rates("2/min", "1/min"):
        bob = client_for(world["bob"])
        assert bob.post("/api/v1/tenants", {"name": "B1", "slug": "bob-one"}).status_code == 201
        assert bob.post("/api/v1/tenants", {"name": "B2", "slug": "bob-two"}).status_code == 429
        # Writes being spent leaves reads alone, and another user has a budget of their own.
        assert bob.get("/api/v1/tenants").status_code == 200
        assert (
            client_for(world["alice"])
            .post("/api/v1/tenants", {"name": "A1", "slug": "alice-one"})
            .status_code
            == 201
        )


def test_successful_responses_announce_the_remaining_budget(client_for, world):
    with rates("5/min", "5/min"):
        response = client_for(world["alice"]).get("/api/v1/tenants")
    assert response["RateLimit-Limit"] == "5"
    assert int(response["RateLimit-Remaining"]) <= 4
    assert int(response["RateLimit-Reset"]) >= 1
