"""Heartbeat monitors: success, /start and /fail pings on the root host (no credentials but the
secret UUID), grace periods, late -> down through the real scheduler, rate limits."""

import datetime as dt
import uuid

from django.utils import timezone

from apps.core.async_runner import AsyncRunner
from apps.monitoring import scheduler, services
from apps.monitoring.models import Incident, Monitor
from apps.monitoring.schedule.models import CheckSchedule
from tests.monitoring.factories import create, in_tenant, make_due, reload, run_checks


def _heartbeat(world, **fields):
    tenant = world["tenant_a"]
    return tenant, create(tenant, kind="heartbeat", name="backup", period_s=3600, grace_s=600,
                          **fields)  # fmt: skip


def _age(tenant, monitor, **changes):
    """Move the monitor's pings into the past (as if time had passed)."""
    with in_tenant(tenant):
        type(monitor).objects.filter(pk=monitor.pk).update(**changes)
    return reload(tenant, monitor)


def test_never_pinged_is_pending_and_never_due(world, api_client):
    _, monitor = _heartbeat(world)
    assert monitor.status == "pending"
    assert CheckSchedule.objects.get(monitor_id=monitor.pk).next_run_at is None


def test_success_ping_marks_up_and_sets_the_deadline(world, api_client):
    tenant, monitor = _heartbeat(world)
    response = api_client.get(f"/ping/{monitor.ping_token}")
    assert response.status_code == 200 and response.content == b"OK"
    monitor = reload(tenant, monitor)
    assert monitor.status == "up" and monitor.last_ping_at
    row = CheckSchedule.objects.get(monitor_id=monitor.pk)
    assert row.next_run_at == monitor.last_ping_at + dt.timedelta(seconds=3600 + 600)
    assert api_client.post(f"/ping/{monitor.ping_token}", data=b"log").status_code == 200


def test_fail_ping_marks_down_and_success_brings_it_back(world, api_client):
    tenant, monitor = _heartbeat(world)
    api_client.get(f"/ping/{monitor.ping_token}")
    assert api_client.get(f"/ping/{monitor.ping_token}/fail").status_code == 200
    monitor = reload(tenant, monitor)
    assert monitor.status == "down"
    with in_tenant(tenant):
        assert monitor.incidents.get().status == "open"
    api_client.get(f"/ping/{monitor.ping_token}")
    assert reload(tenant, monitor).status == "up"


def test_start_then_success_measures_the_run(world, api_client):
    tenant, monitor = _heartbeat(world)
    api_client.get(f"/ping/{monitor.ping_token}/start")
    monitor = reload(tenant, monitor)
    assert monitor.status == "pending"  # a start is not a verdict
    # A started run must finish within the grace time.
    row = CheckSchedule.objects.get(monitor_id=monitor.pk)
    assert row.next_run_at == monitor.last_start_at + dt.timedelta(seconds=600)
    _age(tenant, monitor, last_start_at=timezone.now() - dt.timedelta(seconds=42))
    api_client.get(f"/ping/{monitor.ping_token}")
    monitor = reload(tenant, monitor)
    assert monitor.status == "up"
    assert 42000 <= monitor.last_response_ms < 45000
    with in_tenant(tenant):
        sources = list(monitor.results.order_by("checked_at").values_list("source", flat=True))
    assert sources == ["ping_start", "ping"]


def test_late_heartbeat_goes_down_through_the_scheduler(world, api_client):
    tenant, monitor = _heartbeat(world)
    api_client.get(f"/ping/{monitor.ping_token}")
    # Within period + grace: the scheduler records nothing.
    _age(tenant, monitor, last_ping_at=timezone.now() - dt.timedelta(seconds=3600 + 300))
    make_due(monitor)
    run_checks()
    assert reload(tenant, monitor).status == "up"
    # Past period + grace: late, down, an incident.
    _age(tenant, monitor, last_ping_at=timezone.now() - dt.timedelta(seconds=3600 + 601))
    make_due(monitor)
    run_checks()
    monitor = reload(tenant, monitor)
    assert monitor.status == "down"
    assert monitor.last_error.startswith("No ping for")
    with in_tenant(tenant):
        assert monitor.results.filter(source="late").count() == 1
        assert monitor.incidents.filter(status="open").count() == 1


def test_started_run_that_never_finishes_goes_down(world, api_client):
    tenant, monitor = _heartbeat(world)
    api_client.get(f"/ping/{monitor.ping_token}")
    api_client.get(f"/ping/{monitor.ping_token}/start")
    now = timezone.now()
    _age(tenant, monitor, last_ping_at=now - dt.timedelta(seconds=700),
         last_start_at=now - dt.timedelta(seconds=601))  # fmt: skip
    make_due(monitor)
    run_checks()
    monitor = reload(tenant, monitor)
    assert monitor.status == "down"
    assert "no finish" in monitor.last_error


def test_unknown_token_is_404_and_pings_are_rate_limited(world, api_client, settings):
    assert api_client.get(f"/ping/{uuid.uuid4()}").status_code == 404
    assert api_client.get("/ping/not-a-uuid").status_code == 404
    settings.MONITORING_PING_RATE_PER_MIN = 3
    _, monitor = _heartbeat(world)
    codes = [api_client.get(f"/ping/{monitor.ping_token}").status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200]
    assert codes[3:] == [429, 429]
    response = api_client.get(f"/ping/{monitor.ping_token}")
    assert 1 <= int(response["Retry-After"]) <= 60


def _nightly_heartbeat(tenant):
    return create(tenant, kind="heartbeat", name="nightly", period_s=60, grace_s=10)


def test_a_late_verdict_read_before_a_ping_is_dropped_when_written(world):
    tenant = world["tenant_a"]
    monitor = _nightly_heartbeat(tenant)
    with in_tenant(tenant):
        services.heartbeat_ping(tenant=tenant, monitor_id=monitor.pk, event="success",
                                now=timezone.now() - dt.timedelta(seconds=80))  # fmt: skip
    claims = [c for c in scheduler.claim(limit=50) if c.monitor_id == monitor.pk]
    runner = AsyncRunner(limit=1)
    buffer, counters = [], {"skipped": 0}
    try:
        scheduler._start(claims, runner, buffer, counters)
    finally:
        runner.close()
    assert len(buffer) == 1  # judged late on the read
    with in_tenant(tenant):  # the job pings before the verdict is written
        services.heartbeat_ping(tenant=tenant, monitor_id=monitor.pk, event="success")
    scheduler._flush(buffer, {tenant.pk: tenant})
    monitor = reload(tenant, monitor)
    assert monitor.status == "up"
    with in_tenant(tenant):
        assert not Incident.objects.filter(monitor=monitor).exists()


def test_a_resumed_heartbeat_waits_for_the_next_ping(world):
    tenant = world["tenant_a"]
    monitor = _nightly_heartbeat(tenant)
    with in_tenant(tenant):
        services.heartbeat_ping(tenant=tenant, monitor_id=monitor.pk, event="success",
                                now=timezone.now() - dt.timedelta(hours=2))  # fmt: skip
        services.monitor_pause(monitor=monitor, tenant=tenant, actor=services.SYSTEM)
        services.heartbeat_ping(tenant=tenant, monitor_id=monitor.pk, event="success")  # ignored
        services.monitor_resume(
            monitor=Monitor.objects.get(pk=monitor.pk), tenant=tenant, actor=services.SYSTEM
        )
    run_checks()
    assert reload(tenant, monitor).status == "pending"
    with in_tenant(tenant):
        assert (
            services.heartbeat_ping(tenant=tenant, monitor_id=monitor.pk, event="success") == "up"
        )
        assert not Incident.objects.filter(monitor=monitor).exists()
