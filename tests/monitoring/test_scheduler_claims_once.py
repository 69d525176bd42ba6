"""The scheduler's claim: each due check is claimed once, even by concurrent claimers.

The rows are committed from threads of their own (own connections, outside the test's rolled
back transaction) so that two real sessions can race; the test deletes them at the end."""

import datetime as dt
import threading
import uuid

from django.db import connection, transaction
from django.utils import timezone

from apps.monitoring import scheduler
from apps.monitoring.schedule.models import CheckSchedule


def _in_thread(fn):
    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, box


def _join(thread, box):
    thread.join(30)
    if "error" in box:
        raise box["error"]
    return box.get("value")


def test_two_claimers_never_share_a_due_check(world):
    tenant = world["tenant_a"]
    past = timezone.now() - dt.timedelta(seconds=5)
    ids = [uuid.uuid4() for _ in range(300)]

    def seed():
        CheckSchedule.objects.bulk_create(
            CheckSchedule(tenant_id=tenant.pk, monitor_id=i, kind="http", interval_s=60,
                          next_run_at=past) for i in ids
        )  # fmt: skip

    _join(*_in_thread(seed))
    try:
        barrier = threading.Barrier(2)

        def claimer():
            got = []
            barrier.wait()
            while batch := scheduler.claim(limit=7):
                got.extend(c.monitor_id for c in batch)
            return got

        threads = [_in_thread(claimer) for _ in range(2)]
        first, second = (_join(*t) for t in threads)
        mine = set(ids)
        first = [m for m in first if m in mine]
        second = [m for m in second if m in mine]
        assert len(first) + len(second) == len(ids)
        assert set(first) | set(second) == mine
        assert not set(first) & set(second)
        # Claimed rows moved one interval on: nothing is due any more.
        assert not _join(*_in_thread(lambda: scheduler.claim(limit=1000)))
    finally:
        _join(*_in_thread(lambda: CheckSchedule.objects.filter(monitor_id__in=ids).delete()))


def test_a_claimer_skips_rows_another_holds_without_waiting(world):
    """A holds its claim's locks (transaction open); B gets the other rows at once."""
    tenant = world["tenant_a"]
    past = timezone.now() - dt.timedelta(seconds=5)
    ids = [uuid.uuid4() for _ in range(10)]
    _join(*_in_thread(lambda: CheckSchedule.objects.bulk_create(
        CheckSchedule(tenant_id=tenant.pk, monitor_id=i, kind="http", interval_s=60,
                      next_run_at=past) for i in ids)))  # fmt: skip
    holding, release = threading.Event(), threading.Event()

    def hold():
        with transaction.atomic():
            claimed = scheduler.claim(limit=4)
            holding.set()
            release.wait(20)
        return [c.monitor_id for c in claimed]

    try:
        a = _in_thread(hold)
        assert holding.wait(10)

        def other():
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = '1s'")
            return [c.monitor_id for c in scheduler.claim(limit=100)]

        got_b = [m for m in _join(*_in_thread(other)) if m in set(ids)]
        release.set()
        got_a = _join(*a)
        assert len(got_a) == 4 and len(got_b) == 6
        assert not set(got_a) & set(got_b)
    finally:
        release.set()
        _join(*_in_thread(lambda: CheckSchedule.objects.filter(monitor_id__in=ids).delete()))


def test_claim_returns_the_tenant_schema_and_the_scheduled_time(world):
    tenant = world["tenant_b"]
    due = timezone.now() - dt.timedelta(seconds=3)
    CheckSchedule.objects.create(
        tenant_id=tenant.pk, monitor_id=uuid.uuid4(), kind="tcp", interval_s=30, next_run_at=due
    )
    (claimed,) = scheduler.claim(limit=10)
    assert claimed.schema_name == tenant.schema_name
    assert claimed.scheduled_at == due
    row = CheckSchedule.objects.get(pk=claimed.schedule_id)
    assert row.next_run_at == due + dt.timedelta(seconds=30)
