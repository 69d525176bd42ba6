import pytest

from apps.core import heartbeat
from apps.core.tasks import ping

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_touching_anything(api_client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = api_client.get("/healthz", HTTP_HOST="any-host.example")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_fails_without_a_fresh_worker_heartbeat(api_client, settings):
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "KEY_PREFIX": "qs-test-no-workers"}
    }
    heartbeat.redis_client().delete(heartbeat.heartbeat_key())
    heartbeat.redis_client().hset(heartbeat.heartbeat_key(), "stale@host", "1000")
    response = api_client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["components"]["worker"]["status"] == "fail"
    assert body["components"]["database"]["status"] == "ok"
    assert body["components"]["redis"]["status"] == "ok"
    assert response["Retry-After"]
    heartbeat.redis_client().delete(heartbeat.heartbeat_key())


def test_readyz_is_ready_with_a_running_worker(api_client, celery_worker_process):
    response = api_client.get("/readyz")
    assert response.status_code == 200, response.json()
    components = response.json()["components"]
    assert {name: c["status"] for name, c in components.items()} == {
        "database": "ok",
        "redis": "ok",
        "migrations": "ok",
        "worker": "ok",
    }
    assert components["worker"]["newest_heartbeat_age_s"] < 60


def test_ping_task_round_trips_through_the_broker(celery_worker_process):
    result = ping.delay()
    assert result.get(timeout=30) == {"pong": "ok", "schema": "public"}
