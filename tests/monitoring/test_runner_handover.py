"""A scheduler runner (`monitoring.run_due`) that spent its budget queues its successor on the
queue it came from, so checks go on without waiting for the next tick; a runner that found
every slot taken queues nothing (ticks never stack runners). Real broker (Redis)."""

import json
import uuid

import pytest
import redis
from django.conf import settings
from django.core.cache import cache

from apps.monitoring import tasks


@pytest.fixture
def queue():
    name = f"qs-test-handover-{uuid.uuid4().hex[:10]}"
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    yield name, client
    client.delete(name)


def _run_as_worker(queue_name: str) -> dict:
    tasks.run_due.push_request(
        delivery_info={"routing_key": queue_name}, called_directly=False, is_eager=False
    )
    try:
        return tasks.run_due.run(budget_s=0.2)
    finally:
        tasks.run_due.pop_request()


def test_a_runner_queues_its_successor_on_its_own_queue(world, queue):
    name, client = queue
    counters = _run_as_worker(name)
    assert "busy" not in counters
    (message,) = client.lrange(name, 0, -1)
    assert json.loads(message)["headers"]["task"] == "monitoring.run_due"
    # Its slot is free again for the successor.
    assert all(cache.get(tasks.SLOT_KEY.format(s)) is None for s in range(2))


def test_a_runner_without_a_free_slot_queues_nothing(world, queue, settings):
    name, client = queue
    settings.MONITORING_RUNNERS = 1
    key = tasks.SLOT_KEY.format(0)
    cache.set(key, "someone-else", 60)
    try:
        assert _run_as_worker(name) == {"busy": 1}
    finally:
        cache.delete(key)
    assert client.llen(name) == 0


def test_a_failed_run_frees_its_slot_and_queues_nothing(world, queue, monkeypatch):
    """A run that fails (the database gone, say) must not requeue itself in a tight loop."""
    name, client = queue

    def broken(**kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(tasks.scheduler, "run_due", broken)
    with pytest.raises(RuntimeError):
        _run_as_worker(name)
    assert client.llen(name) == 0
    assert all(cache.get(tasks.SLOT_KEY.format(s)) is None for s in range(2))
