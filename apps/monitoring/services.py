"""Writes of the monitoring app: one use case per function, keyword-only, in one transaction,
audited. They run in the current tenant's schema; `tenant` is the Tenant it belongs to.

The hot path is results_apply(): the scheduler (and heartbeat pings) hand it a batch of
outcomes for one tenant, and it writes them with a constant number of statements: one locking
read of the monitors, one bulk insert of results, one bulk update of monitors, one upsert of
hourly rollups, plus a few rows per state change (incident, audit, inbox, alerts)."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.audit import audit_record
from apps.core.inbox import inbox_send
from apps.core.problems import ApplicationError, InvalidInput, QuotaExceeded
from apps.tenants.models import Membership, Role
from apps.tenants.selectors import tenant_limit

from . import uptime
from .checks.base import Outcome
from .models import (
    AlertChannel,
    AlertLog,
    CheckResult,
    Incident,
    IncidentStatus,
    MaintenanceWindow,
    Monitor,
    MonitorKind,
    MonitorStatus,
    ResultSource,
    UptimeRollup,
    new_ping_token,
)
from .schedule.models import CheckSchedule

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who acts: a user, an API key acting for a tenant, or nobody (the scheduler, a ping)."""

    user: Any = None
    api_key: Any = None

    @property
    def user_id(self):
        user = self.user
        return user.pk if user is not None and getattr(user, "is_authenticated", False) else None


SYSTEM = Actor()


class MonitorNotFound(ApplicationError):
    status = 404
    slug = "not-found"


def _audit(action: str, *, actor: Actor, tenant, target=None, **metadata) -> None:
    audit_record(
        action=action,
        actor=actor.user,
        api_key=actor.api_key,
        tenant=tenant,
        target=target,
        metadata=metadata,
    )


# --- Validation -----------------------------------------------------------------------------

HTTP_FIELDS = (
    "url", "method", "expected_status", "keyword", "keyword_mode", "json_path", "json_operator",
    "json_value", "max_response_ms", "verify_tls", "follow_redirects",
)  # fmt: skip
SOCKET_FIELDS = ("host", "port", "tls_expiry_days", "verify_tls")
HEARTBEAT_FIELDS = ("period_s", "grace_s")
COMMON_FIELDS = ["name", "interval_s", "timeout_s", "failures_before_down", "successes_before_up"]
EDITABLE = {
    MonitorKind.HTTP: (*COMMON_FIELDS, *HTTP_FIELDS),
    MonitorKind.TCP: (*COMMON_FIELDS, "host", "port"),
    MonitorKind.TLS: (*COMMON_FIELDS, *SOCKET_FIELDS),
    MonitorKind.HEARTBEAT: ("name", "failures_before_down", "successes_before_up",
                            *HEARTBEAT_FIELDS),
}  # fmt: skip


def _validate(monitor: Monitor) -> None:
    """Kind-specific rules a serializer cannot see alone; raises InvalidInput."""
    if monitor.kind == MonitorKind.HTTP:
        parts = urlsplit(monitor.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput("An http(s):// URL with a host is required.", field="url")
        for item in monitor.expected_status or []:
            low, _, high = str(item).partition("-")
            if not (low.isdigit() and (not high or high.isdigit())) or not (
                100 <= int(low) <= int(high or low) <= 599
            ):
                raise InvalidInput(
                    f"{item!r} is not a status code or range like 200-299.",
                    field="expected_status",
                )
        if monitor.json_operator != "exists" and monitor.json_path and monitor.json_value == "":
            raise InvalidInput(
                "json_value is required with this json_operator.", field="json_value"
            )
    elif monitor.kind in (MonitorKind.TCP, MonitorKind.TLS):
        if not monitor.host:
            raise InvalidInput("A host is required.", field="host")
        if monitor.kind == MonitorKind.TLS and not monitor.port:
            monitor.port = 443
        if not monitor.port or not 1 <= monitor.port <= 65535:
            raise InvalidInput("A port between 1 and 65535 is required.", field="port")
    elif monitor.kind == MonitorKind.HEARTBEAT:
        if not monitor.period_s or monitor.period_s < 60:
            raise InvalidInput("period_s of at least 60 is required.", field="period_s")
        if monitor.grace_s is None:
            monitor.grace_s = 3600 if monitor.period_s >= 3600 else 300
        if monitor.grace_s < 10:
            raise InvalidInput("grace_s must be at least 10.", field="grace_s")
        monitor.interval_s = monitor.period_s
    if monitor.kind != MonitorKind.HEARTBEAT:
        minimum = settings.MONITORING_MIN_INTERVAL_S
        if monitor.interval_s < minimum:
            raise InvalidInput(f"interval_s must be at least {minimum}.", field="interval_s")
        if not 1 <= monitor.timeout_s <= min(settings.MONITORING_MAX_TIMEOUT_S, monitor.interval_s):
            raise InvalidInput(
                "timeout_s must be between 1 and the interval (at most "
                f"{settings.MONITORING_MAX_TIMEOUT_S}).",
                field="timeout_s",
            )


def _schedule_sync(monitor: Monitor, tenant, *, run_now: bool = False) -> None:
    """Write the monitor's row in the public schedule index (not due while paused)."""
    now = timezone.now()
    if monitor.status == MonitorStatus.PAUSED:
        next_run_at = None  # the row stays, so pings to a paused heartbeat still find it
    elif monitor.kind == MonitorKind.HEARTBEAT:
        next_run_at = heartbeat_deadline(monitor)
    else:
        next_run_at = now
    fields = {
        "tenant_id": tenant.pk,
        "kind": monitor.kind,
        "interval_s": monitor.interval_s,
        "ping_token": monitor.ping_token,
    }
    row = CheckSchedule.objects.filter(monitor_id=monitor.pk).first()
    if row is None:
        CheckSchedule.objects.create(monitor_id=monitor.pk, next_run_at=next_run_at, **fields)
        return
    if not run_now and next_run_at and monitor.kind != MonitorKind.HEARTBEAT and row.next_run_at:
        next_run_at = min(row.next_run_at, now + dt.timedelta(seconds=monitor.interval_s))
    CheckSchedule.objects.filter(pk=row.pk).update(next_run_at=next_run_at, **fields)


def heartbeat_deadline(monitor: Monitor) -> dt.datetime | None:
    """When a heartbeat monitor is late: a started run gets `grace`, otherwise the last ping
    gets `period + grace`. Never pinged: never late (like Healthchecks' "new")."""
    grace = dt.timedelta(seconds=monitor.grace_s or 0)
    if monitor.last_start_at and (
        monitor.last_ping_at is None or monitor.last_start_at > monitor.last_ping_at
    ):
        return monitor.last_start_at + grace
    if monitor.last_ping_at is None:
        return None
    return monitor.last_ping_at + dt.timedelta(seconds=monitor.period_s or 0) + grace


# --- Monitors -------------------------------------------------------------------------------


@transaction.atomic
def monitor_create(*, tenant, actor: Actor, kind: str, **fields) -> Monitor:
    limit = tenant_limit(tenant, "monitors")
    used = Monitor.objects.count() if limit is not None else 0
    if limit is not None and used >= limit:
        raise QuotaExceeded(
            f"Your plan allows {limit} monitors.",
            extra={"limit": "monitors", "allowed": limit, "used": used},
        )
    allowed = set(EDITABLE[MonitorKind(kind)])
    unknown = sorted(
        k
        for k, v in fields.items()
        if k not in allowed and v not in (None, "", Monitor._meta.get_field(k).default)
    )
    if unknown:
        raise InvalidInput(f"{unknown[0]} does not apply to {kind} monitors.", field=unknown[0])
    values = {k: v for k, v in fields.items() if k in allowed and v is not None}
    values.setdefault("interval_s", settings.MONITORING_DEFAULT_INTERVAL_S)
    monitor = Monitor(kind=kind, created_by_id=actor.user_id, **values)
    if kind == MonitorKind.HEARTBEAT:
        monitor.ping_token = new_ping_token()
    _validate(monitor)
    monitor.status_changed_at = timezone.now()
    monitor.save()
    _schedule_sync(monitor, tenant, run_now=True)
    _audit("monitor.created", actor=actor, tenant=tenant, target=monitor, kind=kind,
           name=monitor.name)  # fmt: skip
    return monitor


@transaction.atomic
def monitor_update(*, monitor: Monitor, tenant, actor: Actor, **changes) -> Monitor:
    allowed = set(EDITABLE[MonitorKind(monitor.kind)])
    unknown = sorted(k for k in changes if k not in allowed)
    if unknown:
        raise InvalidInput(
            f"{unknown[0]} does not apply to {monitor.kind} monitors.", field=unknown[0]
        )
    changed = [k for k, v in changes.items() if getattr(monitor, k) != v]
    for key in changed:
        setattr(monitor, key, changes[key])
    if not changed:
        return monitor
    _validate(monitor)
    monitor.save()
    _schedule_sync(monitor, tenant)
    _audit("monitor.updated", actor=actor, tenant=tenant, target=monitor, fields=sorted(changed))
    return monitor


@transaction.atomic
def monitor_delete(*, monitor: Monitor, tenant, actor: Actor) -> None:
    CheckSchedule.objects.filter(monitor_id=monitor.pk).delete()
    _audit("monitor.deleted", actor=actor, tenant=tenant, target=monitor, name=monitor.name)
    monitor.delete()


def _lock(monitor: Monitor) -> Monitor:
    return Monitor.objects.select_for_update().get(pk=monitor.pk)


@transaction.atomic
def monitor_pause(*, monitor: Monitor, tenant, actor: Actor) -> Monitor:
    monitor = _lock(monitor)
    if monitor.status == MonitorStatus.PAUSED:
        return monitor
    now = timezone.now()
    _account_until(monitor, now, _maintenance_for([monitor.pk], now, now))
    _set_status(monitor, MonitorStatus.PAUSED, now)
    monitor.save()
    _schedule_sync(monitor, tenant)
    _audit("monitor.paused", actor=actor, tenant=tenant, target=monitor)
    return monitor


@transaction.atomic
def monitor_resume(*, monitor: Monitor, tenant, actor: Actor) -> Monitor:
    monitor = _lock(monitor)
    if monitor.status != MonitorStatus.PAUSED:
        return monitor
    now = timezone.now()
    _set_status(monitor, MonitorStatus.PENDING, now)
    monitor.accounted_at = now
    monitor.save()
    _schedule_sync(monitor, tenant, run_now=True)
    _audit("monitor.resumed", actor=actor, tenant=tenant, target=monitor)
    return monitor


def _set_status(monitor: Monitor, status: str, now: dt.datetime) -> None:
    monitor.status = status
    monitor.status_changed_at = now
    monitor.fail_streak = 0
    monitor.ok_streak = 0


# --- Results --------------------------------------------------------------------------------


@dataclass
class ResultItem:
    monitor_id: Any
    outcome: Outcome
    checked_at: dt.datetime
    source: str = ResultSource.CHECK
    lag_ms: int | None = None


_ROLLUP_ZERO = ("up_s", "down_s", "maintenance_s", "checks", "failures", "response_ms_sum",
                "response_count")  # fmt: skip


def _account_cap(monitor: Monitor) -> dt.timedelta:
    if monitor.kind == MonitorKind.HEARTBEAT:
        return dt.timedelta(seconds=2 * ((monitor.period_s or 0) + (monitor.grace_s or 0)))
    return dt.timedelta(seconds=2 * monitor.interval_s + monitor.timeout_s)


def _maintenance_for(monitor_ids, start: dt.datetime, end: dt.datetime) -> dict:
    """{monitor_id | None: [(start, end)]} for windows overlapping [start, end]; None = all."""
    windows = MaintenanceWindow.objects.filter(starts_at__lt=end, ends_at__gt=start)
    out: dict = defaultdict(list)
    if not windows.exists():
        return out
    for window in windows.prefetch_related("monitors"):
        targets = [m.pk for m in window.monitors.all()] or [None]
        for target in targets:
            out[target].append((window.starts_at, window.ends_at))
    return out


def _windows(maintenance: dict, monitor_id) -> list:
    return [*maintenance.get(None, ()), *maintenance.get(monitor_id, ())]


def _account_until(
    monitor: Monitor, when: dt.datetime, maintenance: dict, rollups: dict | None = None
) -> dict:
    """Credit [accounted_at, when] (capped) to the monitor's status; returns/extends the
    {(monitor_id, hour): increments} map, written immediately when `rollups` is None."""
    own = rollups is None
    rollups = {} if own else rollups
    start = monitor.accounted_at
    if start is not None and when > start:
        end = min(when, start + _account_cap(monitor))
        split = uptime.account(monitor.status, start, end, _windows(maintenance, monitor.pk))
        for hour, seconds in split.items():
            entry = rollups.setdefault((monitor.pk, hour), dict.fromkeys(_ROLLUP_ZERO, 0))
            for key, value in seconds.items():
                entry[key] += value
    if start is None or when > start:
        monitor.accounted_at = when
    if own:
        _rollups_write(rollups)
    return rollups


def _rollups_write(rollups: dict) -> None:
    """One INSERT … ON CONFLICT DO UPDATE adding the increments to each (monitor, hour)."""
    if not rollups:
        return
    table = connection.ops.quote_name(UptimeRollup._meta.db_table)
    columns = ", ".join(_ROLLUP_ZERO)
    updates = ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in _ROLLUP_ZERO)
    rows, params = [], []
    for (monitor_id, hour), values in sorted(
        rollups.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])
    ):
        rows.append("(%s, %s, " + ", ".join(["%s"] * len(_ROLLUP_ZERO)) + ")")
        params.extend([monitor_id, hour, *(values[c] for c in _ROLLUP_ZERO)])
    sql = (
        f"INSERT INTO {table} (monitor_id, hour, {columns}) VALUES {', '.join(rows)} "
        f"ON CONFLICT (monitor_id, hour) DO UPDATE SET {updates}"
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


MONITOR_RESULT_FIELDS = {
    "status": "varchar", "status_changed_at": "timestamptz", "fail_streak": "integer",
    "ok_streak": "integer", "last_checked_at": "timestamptz", "last_response_ms": "integer",
    "last_error": "varchar", "accounted_at": "timestamptz", "last_ping_at": "timestamptz",
    "last_start_at": "timestamptz",
}  # fmt: skip


def _monitors_write(monitors: list[Monitor]) -> None:
    """One UPDATE … FROM (VALUES …) for the verdict fields of many monitors (Django's
    bulk_update builds a CASE per field and row: measured ten times slower at 500 rows)."""
    if not monitors:
        return
    table = connection.ops.quote_name(Monitor._meta.db_table)
    fields = list(MONITOR_RESULT_FIELDS)
    row = "(%s::uuid, " + ", ".join(f"%s::{t}" for t in MONITOR_RESULT_FIELDS.values()) + ")"
    params: list = []
    for monitor in monitors:
        params.append(monitor.pk)
        params.extend(getattr(monitor, field) for field in fields)
    sets = ", ".join(f"{f} = v.{f}" for f in fields)
    sql = (
        f"UPDATE {table} AS m SET {sets} FROM (VALUES {', '.join([row] * len(monitors))}) "
        f"AS v(id, {', '.join(fields)}) WHERE m.id = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _step(monitor: Monitor, ok: bool, when: dt.datetime) -> str | None:
    """Apply one verdict to the streaks; the new status when it changes (no flapping: down
    after `failures_before_down` failures in a row, up after `successes_before_up` successes;
    a monitor with no verdict yet goes up at its first success)."""
    if ok:
        monitor.ok_streak += 1
        monitor.fail_streak = 0
        if monitor.status != MonitorStatus.UP and (
            monitor.status == MonitorStatus.PENDING
            or monitor.ok_streak >= monitor.successes_before_up
        ):
            return MonitorStatus.UP
    else:
        monitor.fail_streak += 1
        monitor.ok_streak = 0
        if (
            monitor.status != MonitorStatus.DOWN
            and monitor.fail_streak >= monitor.failures_before_down
        ):
            return MonitorStatus.DOWN
    return None


def results_apply(*, tenant, items: list[ResultItem], monitors: dict | None = None) -> dict:
    """Write a batch of outcomes for monitors of the current tenant, in one transaction.
    Returns {"written": n, "transitions": [(monitor_id, new_status)]}. Results for monitors
    that are gone or paused are dropped. `monitors`: already locked rows, by id."""
    if not items:
        return {"written": 0, "transitions": []}
    with transaction.atomic():
        if monitors is None:
            ids = sorted({item.monitor_id for item in items}, key=str)
            monitors = {
                m.pk: m
                for m in Monitor.objects.select_for_update().filter(pk__in=ids).order_by("pk")
            }
        times = [item.checked_at for item in items]
        starts = [m.accounted_at for m in monitors.values() if m.accounted_at] or times
        maintenance = _maintenance_for(list(monitors), min(starts), max(times))
        rollups: dict = {}
        results: list[CheckResult] = []
        transitions: list[tuple[Monitor, str, str, dt.datetime]] = []
        touched: dict = {}
        for item in sorted(items, key=lambda i: i.checked_at):
            monitor = monitors.get(item.monitor_id)
            if monitor is None or monitor.status == MonitorStatus.PAUSED:
                continue
            outcome, when = item.outcome, item.checked_at
            _account_until(monitor, when, maintenance, rollups)
            old = monitor.status
            new = _step(monitor, outcome.ok, when)
            if new is not None:
                monitor.status = new
                monitor.status_changed_at = when
                transitions.append((monitor, old, new, when))
            monitor.last_checked_at = when
            monitor.last_response_ms = outcome.response_ms
            monitor.last_error = outcome.error[:500]
            touched[monitor.pk] = monitor
            entry = rollups.setdefault(
                (monitor.pk, uptime.hour_floor(when)), dict.fromkeys(_ROLLUP_ZERO, 0)
            )
            entry["checks"] += 1
            entry["failures"] += 0 if outcome.ok else 1
            if outcome.response_ms is not None:
                entry["response_ms_sum"] += outcome.response_ms
                entry["response_count"] += 1
            results.append(
                CheckResult(
                    monitor_id=monitor.pk,
                    checked_at=when,
                    ok=outcome.ok,
                    source=item.source,
                    response_ms=outcome.response_ms,
                    status_code=outcome.status_code,
                    error=outcome.error[:500],
                    lag_ms=item.lag_ms,
                )
            )
        CheckResult.objects.bulk_create(results)
        _monitors_write(list(touched.values()))
        _rollups_write(rollups)
        for monitor, old, new, when in transitions:
            _transition(tenant=tenant, monitor=monitor, old=old, new=new, when=when,
                        maintenance=_windows(maintenance, monitor.pk))  # fmt: skip
    return {"written": len(results), "transitions": [(m.pk, new) for m, _, new, _ in transitions]}


# --- Incidents and alerts -------------------------------------------------------------------


def _in_maintenance(windows: list, when: dt.datetime) -> bool:
    return any(start <= when < end for start, end in windows)


def _transition(*, tenant, monitor: Monitor, old: str, new: str, when, maintenance) -> None:
    """Down opens an incident; up resolves the open one. Both are audited, told to the
    tenant's owners and admins, and alerted on the monitor's channels (unless in maintenance)."""
    if new == MonitorStatus.DOWN:
        incident, created = Incident.objects.get_or_create(
            monitor=monitor,
            status=IncidentStatus.OPEN,
            defaults={"started_at": when, "cause": monitor.last_error},
        )
        if not created:
            return
        event, title = "monitor.down", f"{monitor.name} is down"
        body = monitor.last_error
        severity = "warning"
    elif new == MonitorStatus.UP and old == MonitorStatus.DOWN:
        incident = Incident.objects.filter(monitor=monitor, status=IncidentStatus.OPEN).first()
        if incident is None:
            return
        incident.status = IncidentStatus.RESOLVED
        incident.resolved_at = when
        incident.duration_s = max(0, int((when - incident.started_at).total_seconds()))
        incident.save(update_fields=["status", "resolved_at", "duration_s", "updated_at"])
        event, title = "monitor.up", f"{monitor.name} is up again"
        body = f"Down for {_duration(incident.duration_s)}."
        severity = "info"
    else:
        return
    audit_record(
        action=event,
        tenant=tenant,
        target=monitor,
        severity=severity,
        metadata={"incident_id": str(incident.pk), "error": monitor.last_error[:200]},
    )
    data = {"monitor_id": str(monitor.pk), "incident_id": str(incident.pk)}
    recipients = Membership.objects.filter(
        tenant_id=tenant.pk, role__in=[Role.OWNER, Role.ADMIN]
    ).select_related("user")
    for membership in recipients:
        inbox_send(user=membership.user, kind=event, title=title, body=body, tenant=tenant,
                   data=data)  # fmt: skip
    _alerts_queue(monitor=monitor, incident=incident, event=event, silenced=_in_maintenance(
        maintenance, when))  # fmt: skip


def _duration(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {secs} s"


def _alerts_queue(*, monitor: Monitor, incident: Incident, event: str, silenced: bool) -> None:
    channels = list(monitor.channels.filter(enabled=True))
    logs = AlertLog.objects.bulk_create(
        [
            AlertLog(channel=channel, monitor=monitor, incident=incident, event=event,
                     skipped="maintenance" if silenced else "")
            for channel in channels
        ]
    )  # fmt: skip
    pending = [log.pk for log in logs if not log.skipped]
    if pending:
        from .tasks import alerts_send

        transaction.on_commit(functools.partial(alerts_send.delay, pending))


def alert_channel_test(*, channel: AlertChannel, tenant, actor: Actor) -> AlertLog:
    """Send a test notification now, through the channel; the log says how it went."""
    from .alerts import deliver

    log = AlertLog.objects.create(channel=channel, event="alert.test")
    deliver(log, tenant=tenant)
    _audit("alert_channel.tested", actor=actor, tenant=tenant, target=channel, ok=log.ok)
    return log


# --- Heartbeats -----------------------------------------------------------------------------


class PingNotFound(ApplicationError):
    status = 404
    slug = "not-found"


def heartbeat_ping(*, tenant, monitor_id, event: str, now: dt.datetime | None = None) -> str:
    """A ping from the monitored job: `success`, `start` or `fail`. Returns the monitor's status
    afterwards. Success/fail are verdicts (through results_apply); start only opens the run's
    grace period and measures its duration."""
    now = now or timezone.now()
    with transaction.atomic():
        monitor = Monitor.objects.select_for_update().filter(pk=monitor_id).first()
        if monitor is None or monitor.kind != MonitorKind.HEARTBEAT:
            raise PingNotFound("No such check.")
        if monitor.status == MonitorStatus.PAUSED:
            return monitor.status
        if event == "start":
            monitor.last_start_at = now
            monitor.save(update_fields=["last_start_at"])
            CheckResult.objects.create(
                monitor=monitor, checked_at=now, ok=True, source=ResultSource.PING_START
            )
        else:
            duration_ms = None
            if monitor.last_start_at and (
                monitor.last_ping_at is None or monitor.last_start_at > monitor.last_ping_at
            ):
                duration_ms = int((now - monitor.last_start_at).total_seconds() * 1000)
            monitor.last_ping_at = now
            ok = event == "success"
            outcome = Outcome(
                ok=ok, response_ms=duration_ms, error="" if ok else "The job reported a failure."
            )
            source = ResultSource.PING if ok else ResultSource.PING_FAIL
            results_apply(
                tenant=tenant,
                items=[ResultItem(monitor.pk, outcome, now, source)],
                monitors={monitor.pk: monitor},
            )
        CheckSchedule.objects.filter(monitor_id=monitor.pk).update(
            next_run_at=heartbeat_deadline(monitor)
        )
        return monitor.status


def heartbeat_late_outcome(monitor: Monitor, now: dt.datetime) -> Outcome | None:
    """The scheduler's check of a heartbeat monitor: a failure when its deadline has passed,
    None when a ping arrived meanwhile (nothing to record)."""
    deadline = heartbeat_deadline(monitor)
    if deadline is None or now < deadline:
        return None
    if monitor.last_start_at and deadline == monitor.last_start_at + dt.timedelta(
        seconds=monitor.grace_s or 0
    ):
        error = f"Started {int((now - monitor.last_start_at).total_seconds())} s ago, no finish."
    else:
        since = int((now - monitor.last_ping_at).total_seconds())
        error = f"No ping for {since} s (period {monitor.period_s} s + grace {monitor.grace_s} s)."
    return Outcome(ok=False, error=error)


# --- Retention ------------------------------------------------------------------------------


def results_purge(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Drop raw results and rollups past their retention (current schema)."""
    now = now or timezone.now()
    results_cutoff = now - dt.timedelta(days=settings.MONITORING_RESULTS_RETENTION_DAYS)
    rollup_cutoff = now - dt.timedelta(days=settings.MONITORING_ROLLUP_RETENTION_DAYS)
    results, _ = CheckResult.objects.filter(checked_at__lt=results_cutoff).delete()
    rollups, _ = UptimeRollup.objects.filter(hour__lt=rollup_cutoff).delete()
    logs, _ = AlertLog.objects.filter(Q(created_at__lt=rollup_cutoff)).delete()
    return {"results": results, "rollups": rollups, "alert_logs": logs}
