"""Monitoring data for tests, made through the services, and the real scheduler to run checks.
Tests of any domain import these (a monitor, a status page, running due checks)."""

from __future__ import annotations

import contextlib

from django.utils import timezone
from django_tenants.utils import schema_context

from apps.monitoring import scheduler, services
from apps.monitoring.schedule.models import CheckSchedule


@contextlib.contextmanager
def in_tenant(tenant):
    with schema_context(tenant.schema_name):
        yield


def create(tenant, **fields):
    with in_tenant(tenant):
        return services.monitor_create(tenant=tenant, actor=services.SYSTEM, **fields)


def make_due(*monitors) -> None:
    CheckSchedule.objects.filter(monitor_id__in=[m.pk for m in monitors]).update(
        next_run_at=timezone.now()
    )


def run_checks(**kwargs) -> dict:
    """The real scheduler, until nothing is due and nothing is in flight."""
    return scheduler.run_due(budget_s=kwargs.pop("budget_s", 15), idle_exit=True, **kwargs)


def reload(tenant, monitor):
    with in_tenant(tenant):
        monitor.refresh_from_db()
    return monitor


def check_once(tenant, monitor):
    make_due(monitor)
    run_checks()
    return reload(tenant, monitor)


def make_page(tenant, monitors=(), **fields):
    fields.setdefault("slug", "acme")
    fields.setdefault("title", "Acme status")
    with in_tenant(tenant):
        return services.status_page_create(
            tenant=tenant, actor=services.SYSTEM, monitor_ids=[m.pk for m in monitors], **fields
        )


def seed_history(tenant, monitor, *, days: int = 90, end_down: bool = True, now=None):
    """A monitor with a past: one hourly rollup a day for `days` days before yesterday (a few
    bad days among them), then a check every 10 minutes over the last 24 hours through
    results_apply (response times rising and falling, one short outage), ending down (an open
    incident) when `end_down`. Returns the number of raw results written."""
    import datetime as dt
    import math

    from apps.monitoring.checks import Outcome
    from apps.monitoring.models import UptimeRollup

    now = now or timezone.now()
    today = now.astimezone(dt.UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    rollups = []
    for n in range(2, days):
        down = {5: 900.0, 17: 60.0, 40: 3600.0}.get(n, 0.0)
        rollups.append(UptimeRollup(
            monitor_id=monitor.pk, hour=today - dt.timedelta(days=n), up_s=3600.0 - down,
            down_s=down, checks=60, failures=int(down // 60), response_ms_sum=60 * (80 + n % 7),
            response_count=60,
        ))  # fmt: skip
    items = []
    start = now - dt.timedelta(hours=24, minutes=-5)
    for i in range(144):
        at = start + dt.timedelta(minutes=10 * i)
        ok = not (60 <= i < 62) and not (end_down and i >= 142)
        ms = 90 + int(35 * math.sin(i / 9)) + (i * 13) % 11
        outcome = Outcome(ok=ok, response_ms=ms, status_code=200 if ok else 503,
                          error="" if ok else "Status 503, expected 200-299.")  # fmt: skip
        items.append(services.ResultItem(monitor.pk, outcome, at))
    with in_tenant(tenant):
        UptimeRollup.objects.bulk_create(rollups)
        return services.results_apply(tenant=tenant, items=items)["written"]
