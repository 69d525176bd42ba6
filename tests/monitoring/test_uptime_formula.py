"""Uptime is time-weighted from a fixed series of results, and maintenance is left out."""

import datetime as dt

from django.db.models import Sum
from django.utils import timezone

from apps.monitoring import selectors, services, uptime
from apps.monitoring.checks import Outcome
from apps.monitoring.models import MaintenanceWindow, Monitor, UptimeRollup
from tests.monitoring.factories import create, in_tenant

T0 = dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def test_account_splits_by_hour_and_leaves_maintenance_out():
    split = uptime.account("down", at(30), at(150), [(at(60), at(75)), (at(70), at(90))])
    assert split[at(0)] == {"up_s": 0, "down_s": 1800.0, "maintenance_s": 0}
    assert split[at(60)] == {"up_s": 0, "down_s": 1800.0, "maintenance_s": 1800.0}
    assert split[at(120)] == {"up_s": 0, "down_s": 1800.0, "maintenance_s": 0}
    assert uptime.account("pending", at(0), at(60)) == {}
    assert uptime.uptime_pct(3600, 0) == 100.0 and uptime.uptime_pct(0, 0) is None


def test_uptime_on_a_fixed_series(world):
    """Checks every minute for 24 h (interval 60 s); the monitor is down from 10:00 to 11:00
    (failures at 10:00 … 10:59, up again at 11:00); maintenance 10:30-10:45 leaves out a quarter
    of that hour. Up 23 h = 82,800 s; down 45 min = 2,700 s -> 96.8421 %."""
    tenant = world["tenant_a"]
    monitor = create(tenant, kind="http", name="fixed", url="http://127.0.0.1:9/",
                     interval_s=60)  # fmt: skip
    with in_tenant(tenant):
        MaintenanceWindow.objects.create(name="db upgrade", starts_at=at(630), ends_at=at(645))
        items = [
            services.ResultItem(monitor.pk, Outcome(ok=not (600 <= m < 660)), at(m))
            for m in range(0, 24 * 60 + 1)
        ]
        # In several batches, as the scheduler writes them.
        for start in range(0, len(items), 100):
            services.results_apply(tenant=tenant, items=items[start : start + 100])
        monitor.refresh_from_db()
        summary = selectors.uptime_summary(monitor=monitor, now=at(24 * 60))
        series = selectors.response_series(monitor=monitor, hours=24, now=at(24 * 60 - 1))
    day = summary["24h"]
    assert day["up_s"] == 82800.0
    assert day["down_s"] == 2700.0
    assert day["maintenance_s"] == 900.0
    assert day["uptime_pct"] == round(100 * 82800 / 85500, 4) == 96.8421
    assert summary["7d"] == summary["30d"] == day
    hour_10 = next(p for p in series if p["hour"] == at(600))
    assert hour_10["failures"] == 60 and hour_10["uptime_pct"] == 0.0
    with in_tenant(tenant):
        assert monitor.incidents.get().duration_s == 3600


def test_gaps_longer_than_the_cap_count_as_unknown(world):
    tenant = world["tenant_a"]
    monitor = create(tenant, kind="http", name="gap", url="http://127.0.0.1:9/", interval_s=60,
                     timeout_s=10)  # fmt: skip
    with in_tenant(tenant):
        services.results_apply(tenant=tenant, items=[
            services.ResultItem(monitor.pk, Outcome(ok=True), at(0)),
            services.ResultItem(monitor.pk, Outcome(ok=True), at(60)),  # a 1 h gap
        ])  # fmt: skip
        monitor.refresh_from_db()
        summary = selectors.uptime_summary(monitor=monitor, now=at(60))
    assert summary["24h"]["up_s"] == 2 * 60 + 10  # capped at 2 x interval + timeout


def test_pausing_credits_maintenance_that_ended_before_the_pause(world):
    tenant = world["tenant_a"]
    monitor = create(tenant, kind="http", name="api", url="http://127.0.0.1:9/", interval_s=60)
    now = timezone.now()
    with in_tenant(tenant):
        Monitor.objects.filter(pk=monitor.pk).update(
            status="up", accounted_at=now - dt.timedelta(seconds=100)
        )
        services.maintenance_window_create(
            tenant=tenant, actor=services.SYSTEM, name="upgrade", monitor_ids=[monitor.pk],
            starts_at=now - dt.timedelta(seconds=90), ends_at=now - dt.timedelta(seconds=30),
        )  # fmt: skip
        services.monitor_pause(monitor=monitor, tenant=tenant, actor=services.SYSTEM)
        sums = UptimeRollup.objects.filter(monitor_id=monitor.pk).aggregate(
            up=Sum("up_s"), maintenance=Sum("maintenance_s")
        )
    assert round(sums["maintenance"]) == 60
    assert 39 <= sums["up"] <= 42


def test_the_uptime_summary_caps_the_time_since_the_last_verdict_like_the_writer(world):
    tenant = world["tenant_a"]
    monitor = create(tenant, kind="http", name="api", url="http://127.0.0.1:9/", interval_s=60,
                     timeout_s=10)  # fmt: skip
    now = timezone.now()
    with in_tenant(tenant):
        Monitor.objects.filter(pk=monitor.pk).update(
            status="down", accounted_at=now - dt.timedelta(hours=3)
        )
        monitor.refresh_from_db()
        before = selectors.uptime_summary(monitor=monitor, now=now)["24h"]
        item = services.ResultItem(monitor.pk, Outcome(ok=False, error="refused"), now)
        services.results_apply(tenant=tenant, items=[item])
        monitor.refresh_from_db()
        after = selectors.uptime_summary(monitor=monitor, now=now)["24h"]
    assert before["down_s"] == after["down_s"] == 130  # 2 x interval + timeout
