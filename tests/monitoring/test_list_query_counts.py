"""Every list under /api/v1/ of the monitoring app costs the same number of queries with a few
rows as with many (and with more related rows per item: channels per monitor, monitors per
maintenance window). Monitors without channels and status pages are measured in
test_api_list_queries.py and test_status_pages.py; webhook endpoints and deliveries in
tests/webhooks/test_list_query_counts.py and test_webhooks_api.py."""

from __future__ import annotations

import datetime as dt
import itertools

from django.utils import timezone

from apps.monitoring.models import (
    AlertChannel,
    AlertLog,
    CheckResult,
    Incident,
    IncidentStatus,
    MaintenanceWindow,
    Monitor,
    MonitorStatus,
    Silence,
    UptimeRollup,
)
from tests.assertions import counted_get
from tests.monitoring.factories import in_tenant

_serial = itertools.count()


def _tenant_client(client_for, world):
    tenant = world["tenant_a"]
    return tenant, client_for(world["alice"], tenant)


def _monitors(n: int) -> list[Monitor]:
    return Monitor.objects.bulk_create(
        Monitor(name=f"m{i}", kind="http", url=f"https://e{i}.example/")
        for i in (next(_serial) for _ in range(n))
    )


def _channels(n: int) -> list[AlertChannel]:
    rows = []
    for i in (next(_serial) for _ in range(n)):
        kind = ("email", "slack", "webhook")[i % 3]
        if kind == "email":
            config, secret = {"to": [f"ops{i}@example.com"]}, ""
        else:
            config, secret = {"url_masked": f"https://hooks.example/…{i:04}"}, "x"
        rows.append(AlertChannel(name=f"c{i}", kind=kind, config=config, secret_encrypted=secret))
    return AlertChannel.objects.bulk_create(rows)


def _route(monitors, channels) -> None:
    """Every monitor to every one of `channels`."""
    through = Monitor.channels.through
    through.objects.bulk_create(
        through(monitor_id=m.pk, alertchannel_id=c.pk) for m in monitors for c in channels
    )


# --- Monitors (with their channels) and incidents --------------------------------------------


def test_monitors_with_more_channels_each(client_for, world):
    tenant, client = _tenant_client(client_for, world)
    with in_tenant(tenant):
        _route(_monitors(3), _channels(1))
    few, body = counted_get(client, "/api/v1/monitors")
    assert len(body["results"]) == 3
    assert all(len(row["channel_ids"]) == 1 for row in body["results"])
    with in_tenant(tenant):
        _route(_monitors(57), _channels(4))
    many, body = counted_get(client, "/api/v1/monitors?page_size=200")
    assert len(body["results"]) == 60
    assert sorted({len(row["channel_ids"]) for row in body["results"]}) == [1, 4]
    assert many == few


def _incidents(monitors) -> None:
    now = timezone.now()
    Incident.objects.bulk_create(
        Incident(monitor=m, started_at=now - dt.timedelta(minutes=i), cause="HTTP 503",
                 status=IncidentStatus.OPEN if i % 2 else IncidentStatus.RESOLVED,
                 resolved_at=None if i % 2 else now, duration_s=None if i % 2 else 60)
        for i, m in enumerate(monitors)
    )  # fmt: skip


def test_incidents(client_for, world):
    tenant, client = _tenant_client(client_for, world)
    with in_tenant(tenant):
        _incidents(_monitors(3))
    few, body = counted_get(client, "/api/v1/incidents")
    assert len(body["results"]) == 3
    with in_tenant(tenant):
        _incidents(_monitors(57))
    many, body = counted_get(client, "/api/v1/incidents?page_size=200")
    assert len(body["results"]) == 60
    assert len({row["monitor"]["id"] for row in body["results"]}) == 60
    assert many == few


# --- A monitor's results and uptime ----------------------------------------------------------


def _results(monitor, n: int, start: int = 0) -> None:
    now = timezone.now()
    CheckResult.objects.bulk_create(
        CheckResult(monitor=monitor, checked_at=now - dt.timedelta(seconds=30 * i),
                    ok=bool(i % 5), source="check", response_ms=80 + i, status_code=200,
                    error="" if i % 5 else "HTTP 503", lag_ms=5)
        for i in range(start, start + n)
    )  # fmt: skip


def test_monitor_results(client_for, world):
    tenant, client = _tenant_client(client_for, world)
    with in_tenant(tenant):
        (monitor,) = _monitors(1)
        _results(monitor, 3)
    path = f"/api/v1/monitors/{monitor.pk}/results?page_size=200"
    few, body = counted_get(client, path)
    assert len(body["results"]) == 3
    with in_tenant(tenant):
        _results(monitor, 57, start=3)
    many, body = counted_get(client, path)
    assert len(body["results"]) == 60
    assert many == few


def test_monitor_uptime_series(client_for, world):
    """Not a paginated list, but its series and windows grow with rollups and maintenance."""
    tenant, client = _tenant_client(client_for, world)
    now = timezone.now()
    hour = now.replace(minute=0, second=0, microsecond=0)

    def rollups(monitor, hours) -> None:
        UptimeRollup.objects.bulk_create(
            UptimeRollup(monitor=monitor, hour=hour - dt.timedelta(hours=h), up_s=3500,
                         down_s=100, checks=60, failures=2, response_ms_sum=6000,
                         response_count=60)
            for h in hours
        )  # fmt: skip

    def windows(monitor, n: int) -> None:
        made = MaintenanceWindow.objects.bulk_create(
            MaintenanceWindow(name=f"w{i}", starts_at=now - dt.timedelta(minutes=10 + i),
                              ends_at=now + dt.timedelta(minutes=10 + i))
            for i in range(n)
        )  # fmt: skip
        for window in made:
            window.monitors.add(monitor)

    with in_tenant(tenant):
        (monitor,) = _monitors(1)
        Monitor.objects.filter(pk=monitor.pk).update(
            status=MonitorStatus.UP, accounted_at=now - dt.timedelta(minutes=5)
        )
        rollups(monitor, range(3))
        windows(monitor, 1)
    path = f"/api/v1/monitors/{monitor.pk}/uptime"
    few, body = counted_get(client, path)
    assert len(body["series"]) == 3
    with in_tenant(tenant):
        rollups(monitor, range(3, 30 * 24))
        windows(monitor, 20)
    many, body = counted_get(client, path)
    assert len(body["series"]) == 24
    assert many == few


# --- Alert channels, alert logs, maintenance windows, silences ---------------------------


def test_alert_channels(client_for, world):
    tenant, client = _tenant_client(client_for, world)
    with in_tenant(tenant):
        _route(_monitors(2), _channels(3))
    few, body = counted_get(client, "/api/v1/alert-channels")
    assert len(body["results"]) == 3
    with in_tenant(tenant):
        _route(_monitors(10), _channels(57))
    many, body = counted_get(client, "/api/v1/alert-channels?page_size=200")
    assert len(body["results"]) == 60
    assert {row["kind"] for row in body["results"]} == {"email", "slack", "webhook"}
    assert many == few


def _logs(n: int) -> None:
    """`n` alert logs, each of its own channel and monitor (and incident), one a test."""
    channels, monitors = _channels(n), _monitors(n)
    now = timezone.now()
    incidents = Incident.objects.bulk_create(
        Incident(monitor=m, started_at=now, status=IncidentStatus.OPEN) for m in monitors
    )
    AlertLog.objects.bulk_create(
        AlertLog(channel=c, monitor=None if i == 0 else m, incident=None if i == 0 else inc,
                 event="alert.test" if i == 0 else "monitor.down", ok=bool(i % 2),
                 error="" if i % 2 else "HTTP 500", duration_ms=100 + i)
        for i, (c, m, inc) in enumerate(zip(channels, monitors, incidents, strict=True))
    )  # fmt: skip


def test_alert_logs(client_for, world):
    tenant, client = _tenant_client(client_for, world)
    with in_tenant(tenant):
        _logs(3)
    few, body = counted_get(client, "/api/v1/alert-logs")
    assert len(body["results"]) == 3
    with in_tenant(tenant):
        _logs(56)
        # A log whose channel and monitor were deleted since.
        AlertLog.objects.create(channel=None, monitor=None, event="monitor.up", ok=True)
    many, body = counted_get(client, "/api/v1/alert-logs?page_size=200")
    assert len(body["results"]) == 60
    assert len({row["channel"]["id"] for row in body["results"] if row["channel"]}) == 59
    assert len({row["monitor"]["id"] for row in body["results"] if row["monitor"]}) == 57
    assert many == few


def _windows(n: int, monitors_each: int) -> None:
    """`n` windows (past, current and future), each covering its own `monitors_each`
    monitors; the first covers every monitor (none chosen)."""
    now = timezone.now()
    windows = MaintenanceWindow.objects.bulk_create(
        MaintenanceWindow(name=f"w{i}", starts_at=now + dt.timedelta(hours=i - n // 2),
                          ends_at=now + dt.timedelta(hours=i - n // 2 + 1, minutes=30))
        for i in range(n)
    )  # fmt: skip
    monitors = _monitors((n - 1) * monitors_each)
    through = MaintenanceWindow.monitors.through
    through.objects.bulk_create(
        through(maintenancewindow_id=window.pk, monitor_id=monitor.pk)
        for index, window in enumerate(windows[1:])
        for monitor in monitors[index * monitors_each : (index + 1) * monitors_each]
    )


def test_maintenance_windows_with_more_monitors_each(client_for, world):
    tenant, client = _tenant_client(client_for, world)
    with in_tenant(tenant):
        _windows(3, monitors_each=1)
    few, body = counted_get(client, "/api/v1/maintenance-windows")
    assert len(body["results"]) == 3
    with in_tenant(tenant):
        _windows(57, monitors_each=4)
    many, body = counted_get(client, "/api/v1/maintenance-windows?page_size=200")
    assert len(body["results"]) == 60
    assert sorted({len(row["monitor_ids"]) for row in body["results"]}) == [0, 1, 4]
    assert {row["status"] for row in body["results"]} == {"scheduled", "active", "completed"}
    assert many == few


def _silences(n: int) -> None:
    """`n` silences (expired, active and scheduled), each of its own monitor; one of all."""
    now = timezone.now()
    monitors = _monitors(n)
    Silence.objects.bulk_create(
        Silence(monitor=None if i == 0 else m, reason=f"r{i}",
                starts_at=now + dt.timedelta(hours=i - n // 2),
                ends_at=now + dt.timedelta(hours=i - n // 2 + 1, minutes=30))
        for i, m in enumerate(monitors)
    )  # fmt: skip


def test_silences(client_for, world):
    tenant, client = _tenant_client(client_for, world)
    with in_tenant(tenant):
        _silences(3)
    few, body = counted_get(client, "/api/v1/silences")
    assert len(body["results"]) == 3
    with in_tenant(tenant):
        _silences(57)
    many, body = counted_get(client, "/api/v1/silences?page_size=200")
    assert len(body["results"]) == 60
    assert len({row["monitor"]["id"] for row in body["results"] if row["monitor"]}) == 58
    assert {row["status"] for row in body["results"]} == {"scheduled", "active", "expired"}
    assert many == few
