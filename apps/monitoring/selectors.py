"""Reads of the monitoring app, in the current tenant's schema. Lists cost a constant number of
queries whatever their length."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from typing import Any

from django.core.cache import cache
from django.db.models import Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from . import uptime
from .models import (
    AlertChannel,
    AlertLog,
    CheckResult,
    Incident,
    IncidentStatus,
    MaintenanceWindow,
    Monitor,
    MonitorStatus,
    Silence,
    StatusPage,
    StatusPageMonitor,
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
        # Since the last verdict, credited as results_apply will: at most the monitor's cap.
        end = min(now, monitor.accounted_at + monitor.account_cap)
        windows = MaintenanceWindow.objects.filter(
            Q(monitors=monitor) | Q(monitors=None),
            starts_at__lt=end,
            ends_at__gt=monitor.accounted_at,
        ).values_list("starts_at", "ends_at")
        tail = uptime.account(monitor.status, monitor.accounted_at, end, list(windows))
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


def alert_channels_list(*, filters: dict[str, Any] | None = None) -> QuerySet[AlertChannel]:
    """Channels (one query). Filters: kind, enabled (bool)."""
    filters = filters or {}
    channels = AlertChannel.objects.all()
    if filters.get("kind"):
        channels = channels.filter(kind=filters["kind"])
    if filters.get("enabled") is not None:
        channels = channels.filter(enabled=filters["enabled"])
    return channels


def alert_channel_get(channel_id) -> AlertChannel | None:
    pk = _uuid(channel_id)
    return None if pk is None else AlertChannel.objects.filter(pk=pk).first()


def alert_logs_list(*, filters: dict[str, Any] | None = None) -> QuerySet[AlertLog]:
    """Alert logs with their channel and monitor (one query). Filters: channel, monitor (ids),
    event, ok (bool)."""
    filters = filters or {}
    logs = AlertLog.objects.select_related("channel", "monitor").only(
        *(f.name for f in AlertLog._meta.concrete_fields),
        "channel__id", "channel__name", "channel__kind", "monitor__id", "monitor__name",
    )  # fmt: skip
    for key in ("channel", "monitor"):
        if filters.get(key):
            logs = logs.filter(**{f"{key}_id": filters[key]})
    if filters.get("event"):
        logs = logs.filter(event=filters["event"])
    if filters.get("ok") is not None:
        logs = logs.filter(ok=filters["ok"])
    return logs


def span_status(starts_at: dt.datetime, ends_at: dt.datetime, now: dt.datetime) -> str:
    """Where now is relative to a maintenance window or silence."""
    if now < starts_at:
        return "scheduled"
    return "active" if now < ends_at else "completed"


def _span_status(queryset: QuerySet, status: str | None, now: dt.datetime) -> QuerySet:
    if status in ("scheduled", "upcoming"):
        return queryset.filter(starts_at__gt=now)
    if status == "active":
        return queryset.filter(starts_at__lte=now, ends_at__gt=now)
    if status in ("completed", "expired"):
        return queryset.filter(ends_at__lte=now)
    return queryset


def maintenance_windows_list(
    *, filters: dict[str, Any] | None = None, now: dt.datetime | None = None
) -> QuerySet[MaintenanceWindow]:
    """Windows with their monitor ids (two queries). Filters: status (scheduled | upcoming,
    active, completed)."""
    filters = filters or {}
    windows = MaintenanceWindow.objects.prefetch_related(
        Prefetch("monitors", queryset=Monitor.objects.only("id"))
    )
    return _span_status(windows, filters.get("status"), now or timezone.now())


def maintenance_window_get(window_id) -> MaintenanceWindow | None:
    pk = _uuid(window_id)
    return None if pk is None else maintenance_windows_list().filter(pk=pk).first()


def silences_list(
    *, filters: dict[str, Any] | None = None, now: dt.datetime | None = None
) -> QuerySet[Silence]:
    """Silences with their monitor (one query). Filters: status (scheduled, active, expired),
    monitor (id)."""
    filters = filters or {}
    silences = Silence.objects.select_related("monitor").only(
        *(f.name for f in Silence._meta.concrete_fields), "monitor__id", "monitor__name"
    )
    if filters.get("monitor"):
        silences = silences.filter(monitor_id=filters["monitor"])
    return _span_status(silences, filters.get("status"), now or timezone.now())


def silence_get(silence_id) -> Silence | None:
    pk = _uuid(silence_id)
    return None if pk is None else silences_list().filter(pk=pk).first()


# --- Status pages ---------------------------------------------------------------------------

STATUS_DAYS = 90
STATUS_RESOLVED_DAYS = 7  # resolved incidents stay on the page this long
STATUS_UPCOMING_DAYS = 14  # maintenance windows starting within this are announced
STATUS_MAX_INCIDENTS = 50
STATUS_MAX_WINDOWS = 20


def status_page_generation_key(slug: str) -> str:
    return f"monitoring:status-page:{slug}:generation"


def status_page_cache_keys(slug: str) -> list[str]:
    """Where the rendered public page is cached (HTML and JSON), under the page's current
    generation. The services bump the generation when an edit commits, so a render that read
    the page just before the edit stores its copy under a generation nobody reads again."""
    generation = cache.get(status_page_generation_key(slug)) or 0
    base = f"monitoring:status-page:{slug}:{generation}"
    return [f"{base}:html", f"{base}:json"]


def status_route_get(slug: str):
    """The public index row of /status/<slug>/ with its tenant (public schema, one query); None
    when unknown or the tenant is not active (a suspended tenant's monitors are not checked, so
    its page would show stale states)."""
    from apps.tenants.models import TenantStatus

    from .schedule.models import StatusPageRoute

    return (
        StatusPageRoute.objects.select_related("tenant")
        .filter(tenant__status=TenantStatus.ACTIVE)
        .filter(slug=slug)
        .only("page_id", "slug", "tenant__schema_name", "tenant__status")
        .first()
    )


def status_pages_list(*, filters: dict[str, Any] | None = None) -> QuerySet[StatusPage]:
    """Pages with their monitor ids in order (two queries for any page). Filters: public, q."""
    filters = filters or {}
    pages = StatusPage.objects.prefetch_related(
        Prefetch(
            "entries",
            queryset=StatusPageMonitor.objects.only("id", "page_id", "monitor_id", "position"),
        )
    )
    if filters.get("public") is not None:
        pages = pages.filter(public=filters["public"])
    if filters.get("q"):
        pages = pages.filter(Q(title__icontains=filters["q"]) | Q(slug__icontains=filters["q"]))
    return pages


def status_page_get(page_id) -> StatusPage | None:
    pk = _uuid(page_id)
    return None if pk is None else status_pages_list().filter(pk=pk).first()


def day_level(uptime_pct: float | None, maintenance_s: float) -> str:
    """The colour class of one daily bar."""
    if uptime_pct is None:
        return "maintenance" if maintenance_s > 0 else "no_data"
    if uptime_pct >= 99.9:
        return "full"
    if uptime_pct >= 99.0:
        return "high"
    if uptime_pct >= 95.0:
        return "partial"
    return "low"


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def status_page_payload(
    *, page_id, now: dt.datetime | None = None, public_only: bool = True
) -> dict[str, Any] | None:
    """Everything /status/<slug>/ shows, as JSON-ready data, in six queries whatever the number
    of monitors: the page, its monitors, one grouped query of daily sums of the hourly rollups
    over all of them (today's only, once the earlier days are cached: _daily_sums), incidents,
    maintenance windows and their monitors. None: no such (public)
    page. Days are UTC days; today's bar covers today so far, up to each monitor's last verdict
    (the rollups' extent)."""
    now = now or timezone.now()
    pages = StatusPage.objects.filter(pk=page_id)
    if public_only:
        pages = pages.filter(public=True)
    page = pages.first()
    if page is None:
        return None
    chosen = StatusPageMonitor.objects.filter(page_id=page.pk).values("monitor_id")
    entries = list(
        StatusPageMonitor.objects.filter(page_id=page.pk)
        .select_related("monitor")
        .only("id", "position", "monitor__id", "monitor__name", "monitor__status",
              "monitor__status_changed_at", "monitor__last_checked_at")
        .order_by("position", "id")
    )  # fmt: skip
    monitors = [entry.monitor for entry in entries]

    today = now.astimezone(dt.UTC).date()
    days = [today - dt.timedelta(days=STATUS_DAYS - 1 - n) for n in range(STATUS_DAYS)]
    start = dt.datetime.combine(days[0], dt.time(), tzinfo=dt.UTC)
    sums = _daily_sums(page, chosen, start, today)

    incidents = list(
        Incident.objects.filter(monitor_id__in=chosen)
        .filter(
            Q(status=IncidentStatus.OPEN)
            | Q(resolved_at__gte=now - dt.timedelta(days=STATUS_RESOLVED_DAYS))
        )
        .select_related("monitor")
        .only("id", "status", "started_at", "resolved_at", "duration_s", "monitor__id",
              "monitor__name")
        .order_by("-started_at", "-id")[:STATUS_MAX_INCIDENTS]
    )  # fmt: skip
    windows = list(
        MaintenanceWindow.objects.filter(
            Q(monitors__in=chosen) | Q(monitors=None),
            ends_at__gt=now,
            starts_at__lt=now + dt.timedelta(days=STATUS_UPCOMING_DAYS),
        )
        .distinct()
        .order_by("starts_at", "id")
        .prefetch_related(
            Prefetch(
                "monitors",
                queryset=Monitor.objects.filter(pk__in=chosen).only("id", "name"),
                to_attr="chosen_monitors",
            )
        )[:STATUS_MAX_WINDOWS]
    )

    in_maintenance: set = set()
    for window in windows:
        if window.starts_at <= now:
            ids = [m.pk for m in window.chosen_monitors] or [m.pk for m in monitors]
            in_maintenance.update(ids)

    total_up = total_down = 0.0
    out_monitors = []
    for monitor in monitors:
        up_sum = down_sum = 0.0
        daily_pct, daily_level = [], []
        for day in days:
            up, down, maintenance = sums.get((monitor.pk, day), (0.0, 0.0, 0.0))
            up_sum += up
            down_sum += down
            pct = uptime.uptime_pct(up, down)
            daily_pct.append(None if pct is None else round(pct, 2))
            daily_level.append(day_level(pct, maintenance))
        total_up += up_sum
        total_down += down_sum
        pct_90 = uptime.uptime_pct(up_sum, down_sum)
        out_monitors.append(
            {
                "id": str(monitor.pk),
                "name": monitor.name,
                "status": (
                    "maintenance"
                    if monitor.pk in in_maintenance and monitor.status != MonitorStatus.PAUSED
                    else monitor.status
                ),
                "since": _iso(monitor.status_changed_at),
                "last_checked_at": _iso(monitor.last_checked_at),
                "uptime_90d_pct": None if pct_90 is None else round(pct_90, 3),
                "daily_uptime_pct": daily_pct,
                "daily_level": daily_level,
            }
        )
    overall = uptime.uptime_pct(total_up, total_down)
    return {
        "page": {
            "slug": page.slug,
            "title": page.title,
            "description": page.description,
            "announcement": page.announcement,
            "updated_at": _iso(page.updated_at),
        },
        "status": _overall_status(out_monitors),
        "generated_at": _iso(now),
        "uptime_90d_pct": None if overall is None else round(overall, 3),
        "days": [day.isoformat() for day in days],
        "monitors": out_monitors,
        "incidents": [
            {
                "id": str(incident.pk),
                "monitor": {"id": str(incident.monitor.pk), "name": incident.monitor.name},
                "status": incident.status,
                "started_at": _iso(incident.started_at),
                "resolved_at": _iso(incident.resolved_at),
                "duration_s": incident.duration_s,
            }
            for incident in incidents
        ],
        "maintenance": [
            {
                "id": str(window.pk),
                "name": window.name,
                "starts_at": _iso(window.starts_at),
                "ends_at": _iso(window.ends_at),
                "active": window.starts_at <= now,
                "monitors": [{"id": str(m.pk), "name": m.name} for m in window.chosen_monitors],
                "all_monitors": not window.chosen_monitors,
            }
            for window in windows
        ],
    }


STATUS_HISTORY_CACHE_S = 3600


def _daily_sums(page: StatusPage, chosen, start: dt.datetime, today: dt.date) -> dict:
    """{(monitor_id, day): (up_s, down_s, maintenance_s)} over the 90 days, from one grouped
    query of the hourly rollups. The days before today barely change, so their sums are cached
    (an hour, keyed by the page's version and the date) and then only today's rollups are read:
    the grouped query over 90 days is most of an uncached render (docs/monitoring.md)."""
    history_key = f"monitoring:status-page:history:{page.pk}:{page.updated_at.timestamp()}:{today}"
    history = cache.get(history_key)
    since = dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC) if history else start
    rows = (
        UptimeRollup.objects.filter(monitor_id__in=chosen, hour__gte=since)
        .annotate(day=TruncDate("hour", tzinfo=dt.UTC))
        .values_list("monitor_id", "day")
        .annotate(up=Sum("up_s"), down=Sum("down_s"), maintenance=Sum("maintenance_s"))
        .order_by()
    )
    sums = {(monitor_id, day): (up, down, maint) for monitor_id, day, up, down, maint in rows}
    if history is None:
        # Compact for Redis: {monitor id hex: [(day ordinal, up, down, maintenance)]}.
        history = defaultdict(list)
        for (monitor_id, day), values in sums.items():
            if day != today:
                history[monitor_id.hex].append((day.toordinal(), *values))
        cache.set(history_key, dict(history), timeout=STATUS_HISTORY_CACHE_S)
    else:
        for hex_id, days in history.items():
            monitor_id = uuid.UUID(hex_id)
            for ordinal, *values in days:
                sums[(monitor_id, dt.date.fromordinal(ordinal))] = tuple(values)
    return sums


def _overall_status(monitors: list[dict]) -> str:
    """major_outage: every checked monitor is down; degraded: some are; maintenance: none down
    but some under maintenance; operational otherwise (pending and paused ones do not count)."""
    states = [m["status"] for m in monitors]
    down = states.count(MonitorStatus.DOWN)
    if down:
        return "major_outage" if down == down + states.count(MonitorStatus.UP) else "degraded"
    return "maintenance" if "maintenance" in states else "operational"


# --- A monitor's charts (the tenant console's monitor page) ----------------------------------

RAW_DAYS = 7  # results are read raw this far back; beyond, the hourly rollups


def response_times(
    *, monitor: Monitor, since: dt.datetime, now: dt.datetime | None = None
) -> tuple[str, list[tuple[dt.datetime, float | None, bool]]]:
    """Response times since `since`, oldest first, as (time, ms, ok) points, and their source:
    "results" (each check, raw) when `since` is within RAW_DAYS, else "rollups" (the hourly
    average; ok = no failure that hour). One query either way."""
    now = now or timezone.now()
    if now - since <= dt.timedelta(days=RAW_DAYS):
        rows = (
            CheckResult.objects.filter(monitor=monitor, checked_at__gte=since)
            .order_by("checked_at", "id")
            .values_list("checked_at", "response_ms", "ok")
        )
        return "results", [(at, None if ms is None else float(ms), ok) for at, ms, ok in rows]
    rollups = (
        UptimeRollup.objects.filter(monitor=monitor, hour__gte=uptime.hour_floor(since))
        .order_by("hour")
        .values_list("hour", "response_ms_sum", "response_count", "failures")
    )
    return "rollups", [
        (hour, total / count if count else None, not failures)
        for hour, total, count, failures in rollups
    ]


def daily_uptime(
    *, monitor: Monitor, days: int = STATUS_DAYS, now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """One entry per UTC day, oldest first (today last): {day, uptime_pct, level, up_s, down_s,
    maintenance_s}, from one grouped query of the hourly rollups (level: day_level)."""
    now = now or timezone.now()
    today = now.astimezone(dt.UTC).date()
    first = today - dt.timedelta(days=days - 1)
    rows = (
        UptimeRollup.objects.filter(
            monitor=monitor, hour__gte=dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
        )
        .annotate(day=TruncDate("hour", tzinfo=dt.UTC))
        .values_list("day")
        .annotate(up=Sum("up_s"), down=Sum("down_s"), maintenance=Sum("maintenance_s"))
        .order_by()
    )
    sums = {day: (up, down, maintenance) for day, up, down, maintenance in rows}
    out = []
    for n in range(days):
        day = first + dt.timedelta(days=n)
        up, down, maintenance = sums.get(day, (0.0, 0.0, 0.0))
        pct = uptime.uptime_pct(up, down)
        out.append({"day": day, "uptime_pct": pct, "level": day_level(pct, maintenance),
                    "up_s": up, "down_s": down, "maintenance_s": maintenance})  # fmt: skip
    return out
