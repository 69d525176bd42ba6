"""Reads of the monitoring app, in the current tenant's schema. Lists cost a constant number of
queries whatever their length."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db.models import Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from . import uptime
from .models import (
    AlertChannel,
    CheckResult,
    Incident,
    MaintenanceWindow,
    Monitor,
    UptimeRollup,
)

WINDOWS = {"24h": dt.timedelta(hours=24), "7d": dt.timedelta(days=7), "30d": dt.timedelta(days=30)}


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def monitors_list(*, filters: dict[str, Any] | None = None) -> QuerySet[Monitor]:
    """Monitors with their channel ids (two queries for any page). Filters: kind, status, q."""
    filters = filters or {}
    monitors = Monitor.objects.prefetch_related(
        Prefetch("channels", queryset=AlertChannel.objects.only("id"))
    )
    if filters.get("kind"):
        monitors = monitors.filter(kind=filters["kind"])
    if filters.get("status"):
        monitors = monitors.filter(status=filters["status"])
    if filters.get("q"):
        monitors = monitors.filter(Q(name__icontains=filters["q"]) | Q(url__icontains=filters["q"]))
    return monitors


def monitor_get(monitor_id) -> Monitor | None:
    pk = _uuid(monitor_id)
    return None if pk is None else monitors_list().filter(pk=pk).first()


def results_for_monitor(*, monitor: Monitor, filters: dict[str, Any] | None = None) -> QuerySet:
    """Raw results, newest first. Filters: ok (bool), since (datetime)."""
    filters = filters or {}
    results = CheckResult.objects.filter(monitor=monitor)
    if filters.get("ok") is not None:
        results = results.filter(ok=filters["ok"])
    if filters.get("since"):
        results = results.filter(checked_at__gte=filters["since"])
    return results


def uptime_summary(*, monitor: Monitor, now: dt.datetime | None = None) -> dict[str, Any]:
    """Uptime % over 24 h, 7 d and 30 d: time-weighted, maintenance left out (uptime.py).

    The rollups hold everything up to the monitor's last verdict; the time since then is
    credited to its current status here, as the next result will. Windows start at an hour
    boundary (the rollups' grain), so "24h" covers 24 to 25 hours."""
    now = now or timezone.now()
    starts = {name: uptime.hour_floor(now - span) for name, span in WINDOWS.items()}
    aggregates = {}
    for name, start in starts.items():
        aggregates[f"{name}_up"] = Sum("up_s", filter=Q(hour__gte=start))
        aggregates[f"{name}_down"] = Sum("down_s", filter=Q(hour__gte=start))
        aggregates[f"{name}_maintenance"] = Sum("maintenance_s", filter=Q(hour__gte=start))
    sums = UptimeRollup.objects.filter(monitor=monitor, hour__gte=min(starts.values())).aggregate(
        **aggregates
    )
    tail: dict = {}
    if monitor.accounted_at and now > monitor.accounted_at:
        windows = MaintenanceWindow.objects.filter(
            Q(monitors=monitor) | Q(monitors=None),
            starts_at__lt=now,
            ends_at__gt=monitor.accounted_at,
        ).values_list("starts_at", "ends_at")
        tail = uptime.account(monitor.status, monitor.accounted_at, now, list(windows))
    out: dict[str, Any] = {}
    for name, start in starts.items():
        up = sums[f"{name}_up"] or 0.0
        down = sums[f"{name}_down"] or 0.0
        maintenance = sums[f"{name}_maintenance"] or 0.0
        for hour, seconds in tail.items():
            if hour >= start:
                up += seconds["up_s"]
                down += seconds["down_s"]
                maintenance += seconds["maintenance_s"]
        out[name] = {
            "uptime_pct": uptime.uptime_pct(up, down),
            "up_s": round(up, 3),
            "down_s": round(down, 3),
            "maintenance_s": round(maintenance, 3),
        }
    return out


def response_series(*, monitor: Monitor, hours: int = 24, now=None) -> list[dict[str, Any]]:
    """Hourly points for charts: average response time, checks, failures, uptime %."""
    now = now or timezone.now()
    start = uptime.hour_floor(now) - dt.timedelta(hours=hours - 1)
    rows = UptimeRollup.objects.filter(monitor=monitor, hour__gte=start).order_by("hour")
    return [
        {
            "hour": row.hour,
            "avg_response_ms": (
                round(row.response_ms_sum / row.response_count, 1) if row.response_count else None
            ),
            "checks": row.checks,
            "failures": row.failures,
            "uptime_pct": uptime.uptime_pct(row.up_s, row.down_s),
        }
        for row in rows
    ]


def incidents_list(*, filters: dict[str, Any] | None = None) -> QuerySet[Incident]:
    """Incidents with their monitor (one query). Filters: status, monitor (id)."""
    filters = filters or {}
    incidents = Incident.objects.select_related("monitor")
    if filters.get("status"):
        incidents = incidents.filter(status=filters["status"])
    if filters.get("monitor"):
        incidents = incidents.filter(monitor_id=filters["monitor"])
    return incidents


def incident_get(incident_id) -> Incident | None:
    pk = _uuid(incident_id)
    return None if pk is None else incidents_list().filter(pk=pk).first()
