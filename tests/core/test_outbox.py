"""The outbox: events exist exactly when their transaction commits and reach every consumer
once, in order; a failing consumer gets the same events again."""

from __future__ import annotations

import pytest
from django.db import OperationalError, connection, transaction

from apps.core import outbox
from apps.core.models import OutboxEvent

SEEN: list[tuple[str, str]] = []
FAIL = {"on": False}


def record(events) -> None:
    if FAIL["on"]:  # the database itself fails: the whole dispatch must roll back
        raise OperationalError("connection lost")
    if any(e.data["n"] == "poison" for e in events):
        raise ValueError("cannot take this one")
    SEEN.extend((e.type, e.data["n"]) for e in events)


@pytest.fixture
def consumer(settings):
    settings.OUTBOX_CONSUMERS = ["tests.core.test_outbox.record"]
    settings.OUTBOX_DISPATCH_ON_COMMIT = False
    outbox.consumers.cache_clear()
    SEEN.clear()
    FAIL["on"] = False
    OutboxEvent.objects.filter(dispatched_at__isnull=True).update(dispatched_at="2000-01-01T00:00Z")
    yield
    outbox.consumers.cache_clear()


@pytest.mark.django_db
def test_event_rolled_back_with_its_change_is_never_dispatched(consumer):
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.event_emit(type="thing.created", data={"n": "lost"})
        raise RuntimeError("the change failed")
    outbox.event_emit(type="thing.created", data={"n": "kept"})
    assert outbox.outbox_dispatch() == 1
    assert SEEN == [("thing.created", "kept")]


@pytest.mark.django_db
def test_dispatch_in_order_exactly_once(consumer):
    for n in range(7):
        outbox.event_emit(type="thing.updated", data={"n": str(n)})
    assert outbox.outbox_dispatch(batch=3) == 7
    assert outbox.outbox_dispatch() == 0
    assert [n for _, n in SEEN] == [str(n) for n in range(7)]


@pytest.mark.django_db
def test_a_poison_event_is_recorded_and_does_not_stop_the_others(consumer):
    outbox.event_emit(type="thing.deleted", data={"n": "1"})
    outbox.event_emit(type="thing.deleted", data={"n": "poison"})
    outbox.event_emit(type="thing.deleted", data={"n": "3"})
    assert outbox.outbox_dispatch() == 3
    assert SEEN == [("thing.deleted", "1"), ("thing.deleted", "3")]
    poison = OutboxEvent.objects.get(data__n="poison")
    assert poison.dispatched_at is not None
    assert "cannot take this one" in poison.errors["tests.core.test_outbox.record"]
    assert OutboxEvent.objects.get(data__n="1").errors == {}


@pytest.mark.django_db
def test_a_failing_database_rolls_the_batch_back_for_a_retry(consumer):
    outbox.event_emit(type="thing.deleted", data={"n": "1"})
    FAIL["on"] = True
    with pytest.raises(OperationalError):
        outbox.outbox_dispatch()
    FAIL["on"] = False
    assert OutboxEvent.objects.filter(dispatched_at__isnull=True).count() == 1
    assert outbox.outbox_dispatch() == 1
    assert SEEN == [("thing.deleted", "1")]


@pytest.mark.django_db
def test_one_dispatcher_at_a_time_the_task_does_not_wait(settings):
    """While another connection holds the dispatcher's turn, the Celery task's non-waiting call
    gives up at once instead of holding a worker process."""
    import psycopg

    settings.OUTBOX_DISPATCH_ON_COMMIT = False
    dsn = connection.get_connection_params()
    with psycopg.connect(**dsn, autocommit=False) as other:
        other.execute("SELECT pg_advisory_xact_lock(%s)", [outbox.DISPATCH_LOCK])
        with pytest.raises(outbox.DispatcherBusy):
            outbox.outbox_dispatch(wait=False)
        other.rollback()
    assert outbox.outbox_dispatch(wait=False) >= 0


@pytest.mark.django_db
def test_a_transaction_kicks_the_dispatcher_once_after_commit(
    settings, django_capture_on_commit_callbacks
):
    settings.OUTBOX_DISPATCH_ON_COMMIT = True
    with django_capture_on_commit_callbacks() as callbacks:
        outbox.event_emit(type="thing.created", data={"n": "1"})
        outbox.event_emit(type="thing.updated", data={"n": "1"})
    assert callbacks == [outbox._kick]
