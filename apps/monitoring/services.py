"""Writes of the monitoring app: one use case per function, keyword-only, in one transaction,
audited. They run in the current tenant's schema; `tenant` is the Tenant it belongs to.

The hot path is results_apply(): the scheduler (and heartbeat pings) hand it a batch of
outcomes for one tenant, and it writes them with a constant number of statements: one locking
read of the monitors, one bulk insert of results, one bulk update of monitors, one upsert of
hourly rollups, plus a few rows per state change (incident, audit, inbox, alerts)."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import logging
import re
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.core import crypto
from apps.core.audit import audit_record
from apps.core.inbox import inbox_send
from apps.core.locks import advisory_xact_lock
from apps.core.net import http_url_parts, ip_allowed
from apps.core.platform_config import config_get
from apps.core.problems import ApplicationError, Conflict, InvalidInput, QuotaExceeded
from apps.tenants.models import Membership, Role
from apps.tenants.selectors import tenant_limit

from . import events, uptime, url_credentials
from .checks.base import Outcome
from .models import (
    AlertChannel,
    AlertLog,
    ChannelKind,
    CheckResult,
    Incident,
    IncidentStatus,
    MaintenanceWindow,
    Monitor,
    MonitorKind,
    MonitorStatus,
    ResultSource,
    Silence,
    StatusPage,
    StatusPageMonitor,
    UptimeRollup,
    new_ping_token,
)
from .schedule.models import CheckSchedule, StatusPageRoute
from .selectors import status_page_generation_key

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


# A status code or a range of them, in ASCII digits (str.isdigit() is true for "²00" too).
STATUS_RANGE = re.compile(r"[0-9]{3}(-[0-9]{3})?")


def _validate(monitor: Monitor) -> None:
    """Kind-specific rules a serializer cannot see alone; raises InvalidInput."""
    if monitor.kind == MonitorKind.HTTP:
        if http_url_parts(monitor.url or "") is None:
            raise InvalidInput("An http(s):// URL with a host is required.", field="url")
        for item in monitor.expected_status or []:
            low, _, high = str(item).partition("-")
            if not STATUS_RANGE.fullmatch(str(item)) or not (
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
        minimum = config_get("monitoring.min_interval_s")
        if monitor.interval_s < minimum:
            raise InvalidInput(f"interval_s must be at least {minimum}.", field="interval_s")
        if not 1 <= monitor.timeout_s <= min(settings.MONITORING_MAX_TIMEOUT_S, monitor.interval_s):
            raise InvalidInput(
                "timeout_s must be between 1 and the interval (at most "
                f"{settings.MONITORING_MAX_TIMEOUT_S}).",
                field="timeout_s",
            )


def _url_fields(url: str, monitor: Monitor | None = None) -> dict[str, str]:
    """`url` as given by the caller, as columns: the URL without its Basic credentials, and
    those encrypted (url_credentials.py). On an update (`monitor` given) the masked form sent
    back unchanged keeps the stored credentials; any other URL replaces them (a URL without
    credentials drops them). The mask in any other URL is refused, so credentials are never
    carried over to another host or path."""
    if monitor is not None and url == monitor.url_masked:
        return {"url": monitor.url, "url_credentials_encrypted": monitor.url_credentials_encrypted}
    bare, userinfo = url_credentials.split(url)
    if userinfo == url_credentials.MASK:
        raise InvalidInput(
            "The URL holds masked credentials (***@): send the credentials themselves, or the "
            "monitor's masked URL unchanged to keep them.",
            field="url",
        )
    token = monitor.url_credentials_encrypted if monitor is not None else ""
    with contextlib.suppress(crypto.DecryptionError):
        if userinfo and token and crypto.decrypt(token) == userinfo:
            return {"url": bare, "url_credentials_encrypted": token}  # the same: no new token
    return {"url": bare, "url_credentials_encrypted": crypto.encrypt(userinfo) if userinfo else ""}


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


def _channels(channel_ids) -> list[AlertChannel]:
    """The tenant's channels with these ids (this schema holds only its own); an unknown id is
    a validation error on `channel_ids`."""
    ids = list(dict.fromkeys(channel_ids))
    channels = list(AlertChannel.objects.filter(pk__in=ids))
    if len(channels) != len(ids):
        missing = sorted({str(i) for i in ids} - {str(c.pk) for c in channels})
        raise InvalidInput(f"No such alert channel: {missing[0]}.", field="channel_ids")
    return channels


@transaction.atomic
def monitor_create(
    *, tenant, actor: Actor, kind: str, channel_ids: list | None = None, **fields
) -> Monitor:
    limit = tenant_limit(tenant, "monitors")
    if limit is not None:  # two creates at once must not both see the last free place
        advisory_xact_lock(f"quota:{tenant.pk}:monitors")
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
    if values.get("url"):
        values.update(_url_fields(values["url"]))
    values.setdefault("interval_s", settings.MONITORING_DEFAULT_INTERVAL_S)
    monitor = Monitor(kind=kind, created_by_id=actor.user_id, **values)
    if kind == MonitorKind.HEARTBEAT:
        monitor.ping_token = new_ping_token()
    _validate(monitor)
    monitor.status_changed_at = timezone.now()
    channels = _channels(channel_ids) if channel_ids else []
    monitor.save()
    if channels:
        monitor.channels.set(channels)
    _schedule_sync(monitor, tenant, run_now=True)
    _audit("monitor.created", actor=actor, tenant=tenant, target=monitor, kind=kind,
           name=monitor.name)  # fmt: skip
    return monitor


@transaction.atomic
def monitor_update(
    *, monitor: Monitor, tenant, actor: Actor, channel_ids: list | None = None, **changes
) -> Monitor:
    allowed = set(EDITABLE[MonitorKind(monitor.kind)])
    unknown = sorted(k for k in changes if k not in allowed)
    if unknown:
        raise InvalidInput(
            f"{unknown[0]} does not apply to {monitor.kind} monitors.", field=unknown[0]
        )
    if isinstance(changes.get("url"), str):
        changes.update(_url_fields(changes["url"], monitor))
    changed = [k for k, v in changes.items() if getattr(monitor, k) != v]
    for key in changed:
        setattr(monitor, key, changes[key])
    if channel_ids is not None:
        channels = _channels(channel_ids)
        if {c.pk for c in channels} != {c.pk for c in monitor.channels.all()}:
            monitor.channels.set(channels)
            changed.append("channel_ids")
    if not changed:
        return monitor
    if changed != ["channel_ids"]:
        _validate(monitor)
        monitor.save()
        _schedule_sync(monitor, tenant)
    fields = {"url" if k == "url_credentials_encrypted" else k for k in changed}
    _audit("monitor.updated", actor=actor, tenant=tenant, target=monitor, fields=sorted(fields))
    if "name" in changed:
        _status_pages_forget()
    return monitor


@transaction.atomic
def monitor_delete(*, monitor: Monitor, tenant, actor: Actor) -> None:
    CheckSchedule.objects.filter(monitor_id=monitor.pk).delete()
    # A window with no monitors covers every monitor: one that covered only this monitor goes
    # with it, rather than silently widening to the whole tenant.
    covers = MaintenanceWindow.monitors.through.objects
    others = covers.exclude(monitor_id=monitor.pk).values("maintenancewindow_id")
    MaintenanceWindow.objects.filter(monitors=monitor).exclude(pk__in=others).delete()
    _audit("monitor.deleted", actor=actor, tenant=tenant, target=monitor, name=monitor.name)
    monitor.delete()
    _status_pages_forget()


def _lock(monitor: Monitor) -> Monitor:
    return Monitor.objects.select_for_update().get(pk=monitor.pk)


@transaction.atomic
def monitor_pause(*, monitor: Monitor, tenant, actor: Actor) -> Monitor:
    monitor = _lock(monitor)
    if monitor.status == MonitorStatus.PAUSED:
        return monitor
    now = timezone.now()
    since = monitor.accounted_at or now
    _account_until(monitor, now, _maintenance_for([monitor.pk], since, now))
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
    if monitor.kind == MonitorKind.HEARTBEAT:
        # Pings were ignored while paused: like a new check, it waits for the job's next ping
        # instead of being late at once by a ping from before the pause.
        monitor.last_ping_at = None
        monitor.last_start_at = None
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


def _maintenance_for(
    monitor_ids, start: dt.datetime, end: dt.datetime, cursor: psycopg.Cursor | None = None
) -> dict:
    """{monitor_id | None: [(start, end)]} for windows overlapping [start, end]; None = all.
    With `cursor` (the hot path's, search path already set) the usual "none" answer costs one
    statement and no `SET search_path`."""
    out: dict = defaultdict(list)
    if cursor is not None:
        table = connection.ops.quote_name(MaintenanceWindow._meta.db_table)
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {table} WHERE starts_at <= %s AND ends_at > %s)",
            [end, start],
        )
        if not cursor.fetchone()[0]:
            return out
    # A window starting exactly at `end` counts: a verdict at `end` falls inside it.
    windows = MaintenanceWindow.objects.filter(starts_at__lte=end, ends_at__gt=start)
    if cursor is None and not windows.exists():
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
        end = min(when, start + monitor.account_cap)
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


@contextlib.contextmanager
def _binary_cursor() -> Iterator[psycopg.Cursor]:
    """A server-side-binding psycopg cursor on Django's connection (whose search path django-
    tenants set for the current tenant). The hot path's statements take whole columns as
    binary arrays (or COPY), so their text is the same whatever the batch size: nothing is
    parsed or quoted per row in Python (Django's client-side binding did, measured at about a
    quarter of a scheduler process's database time)."""
    with connection.cursor() as outer, psycopg.Cursor(outer.cursor.connection) as cursor:
        yield cursor


_ROLLUP_TYPES = ("float8", "float8", "float8", "integer", "integer", "bigint", "integer")


def _rollups_write(rollups: dict, cursor: psycopg.Cursor | None = None) -> None:
    """One INSERT … ON CONFLICT DO UPDATE adding the increments to each (monitor, hour), in
    (monitor, hour) order so that concurrent writers lock rows in the same order."""
    if not rollups:
        return
    table = connection.ops.quote_name(UptimeRollup._meta.db_table)
    columns = ", ".join(_ROLLUP_ZERO)
    updates = ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in _ROLLUP_ZERO)
    arrays = ", ".join(f"%s::{t}[]" for t in _ROLLUP_TYPES)
    ordered = sorted(rollups.items(), key=lambda kv: (str(kv[0][0]), kv[0][1]))
    params: list = [[key[0] for key, _ in ordered], [key[1] for key, _ in ordered]]
    for column, kind in zip(_ROLLUP_ZERO, _ROLLUP_TYPES, strict=True):
        cast = float if kind == "float8" else int
        params.append([cast(values[column]) for _, values in ordered])
    sql = (
        f"INSERT INTO {table} (monitor_id, hour, {columns}) "
        f"SELECT * FROM unnest(%s::uuid[], %s::timestamptz[], {arrays}) "
        f"ON CONFLICT (monitor_id, hour) DO UPDATE SET {updates}"
    )  # fmt: skip
    if cursor is None:
        with _binary_cursor() as cursor:
            cursor.execute(sql, params, binary=True)
    else:
        cursor.execute(sql, params, binary=True)


MONITOR_RESULT_FIELDS = {
    "status": "varchar", "status_changed_at": "timestamptz", "fail_streak": "integer",
    "ok_streak": "integer", "last_checked_at": "timestamptz", "last_response_ms": "integer",
    "last_error": "varchar", "accounted_at": "timestamptz", "last_ping_at": "timestamptz",
    "last_start_at": "timestamptz",
}  # fmt: skip


def _monitors_write(monitors: list[Monitor], cursor: psycopg.Cursor) -> None:
    """One UPDATE … FROM unnest(arrays) for the verdict fields of many monitors (Django's
    bulk_update builds a CASE per field and row: measured ten times slower at 500 rows)."""
    if not monitors:
        return
    table = connection.ops.quote_name(Monitor._meta.db_table)
    fields = list(MONITOR_RESULT_FIELDS)
    arrays = ", ".join(f"%s::{t}[]" for t in MONITOR_RESULT_FIELDS.values())
    params: list = [[m.pk for m in monitors]]
    params.extend([getattr(m, field) for m in monitors] for field in fields)
    sets = ", ".join(f"{f} = v.{f}" for f in fields)
    sql = (
        f"UPDATE {table} AS m SET {sets} FROM unnest(%s::uuid[], {arrays}) "
        f"AS v(id, {', '.join(fields)}) WHERE m.id = v.id"
    )
    cursor.execute(sql, params, binary=True)


def _monitors_locked(cursor: psycopg.Cursor, ids) -> dict:
    """The monitors, locked (in id order, like every writer), as Monitor instances."""
    fields = Monitor._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(Monitor._meta.db_table)
    cursor.execute(
        f"SELECT {columns} FROM {table} WHERE id = ANY(%s::uuid[]) ORDER BY id FOR UPDATE",
        [list(ids)],
        binary=True,
    )
    names = [f.attname for f in fields]
    json_at = [i for i, f in enumerate(fields) if f.get_internal_type() == "JSONField"]
    monitors = {}
    for row in cursor.fetchall():
        row = list(row)
        for i in json_at:  # binary jsonb arrives decoded; text (Django's loader) would not
            if isinstance(row[i], str):
                row[i] = json.loads(row[i])
        monitor = Monitor.from_db(connection.alias, names, row)
        monitors[monitor.pk] = monitor
    return monitors


_RESULT_COLUMNS = ("monitor_id", "checked_at", "ok", "source", "response_ms", "status_code",
                   "error", "lag_ms")  # fmt: skip
_RESULT_TYPES = ("uuid", "timestamptz", "bool", "varchar", "int4", "int2", "varchar", "int4")


def _results_copy(rows: list[tuple], cursor: psycopg.Cursor) -> None:
    """Insert check results with one binary COPY (no model instances, no SQL per row)."""
    if not rows:
        return
    table = connection.ops.quote_name(CheckResult._meta.db_table)
    sql = f"COPY {table} ({', '.join(_RESULT_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
    with cursor.copy(sql) as copy:
        copy.set_types(list(_RESULT_TYPES))
        for row in rows:
            copy.write_row(row)


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
    # One cursor for the whole batch: every Django cursor costs a `SET search_path` round trip
    # (django-tenants), which with many tenants per flush was most of the scheduler's time.
    with transaction.atomic(), _binary_cursor() as cursor:
        if monitors is None:
            monitors = _monitors_locked(cursor, {item.monitor_id for item in items})
        times = [item.checked_at for item in items]
        starts = [m.accounted_at for m in monitors.values() if m.accounted_at] or times
        maintenance = _maintenance_for(list(monitors), min(starts), max(times), cursor)
        rollups: dict = {}
        results: list[tuple] = []
        transitions: list[tuple[Monitor, str, str, dt.datetime]] = []
        touched: dict = {}
        for item in sorted(items, key=lambda i: i.checked_at):
            monitor = monitors.get(item.monitor_id)
            if monitor is None or monitor.status == MonitorStatus.PAUSED:
                continue
            if item.source == ResultSource.LATE and not _still_late(monitor, item.checked_at):
                continue  # judged late on an unlocked read; a ping has come since
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
                (monitor.pk, when, outcome.ok, item.source, outcome.response_ms,
                 outcome.status_code, monitor.last_error, item.lag_ms)
            )  # fmt: skip
        _results_copy(results, cursor)
        _monitors_write(list(touched.values()), cursor)
        _rollups_write(rollups, cursor)
        silences = _silences_for(transitions)
        for monitor, old, new, when in transitions:
            _transition(tenant=tenant, monitor=monitor, old=old, new=new, when=when,
                        maintenance=_windows(maintenance, monitor.pk),
                        silences=_windows(silences, monitor.pk))  # fmt: skip
    return {"written": len(results), "transitions": [(m.pk, new) for m, _, new, _ in transitions]}


def _still_late(monitor: Monitor, when: dt.datetime) -> bool:
    deadline = heartbeat_deadline(monitor)
    return deadline is not None and deadline <= when


# --- Incidents and alerts -------------------------------------------------------------------


def _in_maintenance(windows: list, when: dt.datetime) -> bool:
    return any(start <= when < end for start, end in windows)


def _silences_for(transitions: list) -> dict:
    """{monitor_id | None: [(start, end)]} of silences around these transitions (one query,
    and none when nothing changed state); None = every monitor."""
    out: dict = defaultdict(list)
    if not transitions:
        return out
    times = [when for _, _, _, when in transitions]
    ids = [monitor.pk for monitor, _, _, _ in transitions]
    rows = Silence.objects.filter(
        Q(monitor_id__in=ids) | Q(monitor__isnull=True),
        starts_at__lte=max(times),
        ends_at__gt=min(times),
    ).values_list("monitor_id", "starts_at", "ends_at")
    for monitor_id, start, end in rows:
        out[monitor_id].append((start, end))
    return out


def _transition(
    *, tenant, monitor: Monitor, old: str, new: str, when, maintenance, silences=()
) -> None:
    """Down opens an incident; up resolves the open one. Both are audited, told to the
    tenant's owners and admins, and alerted on the monitor's channels (unless in maintenance
    or silenced: then the alert is logged as skipped)."""
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
    elif new == MonitorStatus.UP:  # from down, or from pending after a pause while down
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
    events.monitor_transition_events(
        tenant=tenant, monitor=monitor, incident=incident, down=new == MonitorStatus.DOWN, when=when
    )
    data = {"monitor_id": str(monitor.pk), "incident_id": str(incident.pk)}
    recipients = Membership.objects.filter(
        tenant_id=tenant.pk, role__in=[Role.OWNER, Role.ADMIN]
    ).select_related("user")
    for membership in recipients:
        inbox_send(user=membership.user, kind=event, title=title, body=body, tenant=tenant,
                   data=data)  # fmt: skip
    skipped = ""
    if _in_maintenance(maintenance, when):
        skipped = "maintenance"
    elif _in_maintenance(silences, when):
        skipped = "silenced"
    _alerts_queue(monitor=monitor, incident=incident, event=event, skipped=skipped)


def _duration(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {secs} s"


def _alerts_queue(*, monitor: Monitor, incident: Incident, event: str, skipped: str) -> None:
    channels = list(monitor.channels.filter(enabled=True))
    logs = AlertLog.objects.bulk_create(
        [
            AlertLog(channel=channel, monitor=monitor, incident=incident, event=event,
                     skipped=skipped)
            for channel in channels
        ]
    )  # fmt: skip
    pending = [log.pk for log in logs if not log.skipped]
    if pending:
        transaction.on_commit(functools.partial(_alerts_enqueue, pending))


def _alerts_enqueue(log_ids: list) -> None:
    """After commit: the results are written whatever the broker says; an alert it would not
    take stays in the alert log unsent (no duration, no error) and is logged here."""
    from .tasks import alerts_send

    try:
        alerts_send.delay(log_ids)
    except Exception:
        logger.exception("alerts: could not enqueue %d alert(s): %s", len(log_ids), log_ids)


def alert_channel_test(*, channel: AlertChannel, tenant, actor: Actor) -> AlertLog:
    """Send a test notification now, through the channel, in one attempt (the caller is
    waiting for the answer); the log says how it went. Not atomic on purpose: the log and the
    audit event are written whether or not the receiver answered."""
    from .alerts import deliver

    log = AlertLog.objects.create(channel=channel, event="alert.test")
    deliver(log, tenant=tenant, retries=1)
    _audit("alert_channel.tested", actor=actor, tenant=tenant, target=channel, ok=log.ok,
           error=log.error[:200])  # fmt: skip
    return log


# --- Alert channels -------------------------------------------------------------------------

MAX_EMAIL_RECIPIENTS = 10


def _webhook_url(value) -> str:
    """Syntax and literal addresses at save time; names are resolved and checked by the SSRF
    guard (apps.core.net) when sending."""
    url = value.strip() if isinstance(value, str) else ""
    parts = http_url_parts(url)
    if parts is None or len(url) > 2000:
        raise InvalidInput("An http(s):// URL with a host is required.", field="config.url")
    try:
        literal = not ip_allowed(parts.hostname.strip("[]"))
    except ValueError:  # a name, not an address
        literal = False
    if literal:
        raise InvalidInput(
            "This address is private, loopback or link-local: alerts cannot be sent there.",
            field="config.url",
        )
    return url


def _channel_config(kind: str, config) -> tuple[dict, str]:
    """Validate a channel's config: (what may be shown, the secret to encrypt or "")."""
    if not isinstance(config, dict):
        raise InvalidInput("An object is required.", field="config")
    expected = {"to"} if kind == ChannelKind.EMAIL else {"url"}
    extra = sorted(set(config) - expected)
    if extra:
        raise InvalidInput(
            f"{extra[0]} does not apply to {kind} channels.", field=f"config.{extra[0]}"
        )
    if kind == ChannelKind.EMAIL:
        to = config.get("to")
        if not isinstance(to, list) or not 1 <= len(to) <= MAX_EMAIL_RECIPIENTS:
            raise InvalidInput(
                f"A list of 1 to {MAX_EMAIL_RECIPIENTS} addresses is required.", field="config.to"
            )
        for address in to:
            try:
                validate_email(address)
            except (DjangoValidationError, TypeError) as exc:
                raise InvalidInput(f"{address!r} is not an email address.",
                                   field="config.to") from exc  # fmt: skip
        return {"to": list(dict.fromkeys(a.strip().lower() for a in to))}, ""
    from .alerts import mask_url

    url = _webhook_url(config.get("url"))
    return {"url_masked": mask_url(url)}, url


@transaction.atomic
def alert_channel_create(
    *, tenant, actor: Actor, name: str, kind: str, config: dict, enabled: bool = True
) -> AlertChannel:
    if kind not in ChannelKind.values:
        raise InvalidInput(f"{kind!r} is not a channel kind.", field="kind")
    shown, secret = _channel_config(kind, config)
    channel = AlertChannel.objects.create(
        name=name, kind=kind, config=shown, enabled=enabled, created_by_id=actor.user_id,
        secret_encrypted=crypto.encrypt(secret) if secret else "",
    )  # fmt: skip
    _audit("alert_channel.created", actor=actor, tenant=tenant, target=channel, kind=kind,
           name=name)  # fmt: skip
    return channel


@transaction.atomic
def alert_channel_update(*, channel: AlertChannel, tenant, actor: Actor, **changes) -> AlertChannel:
    """Changes of `name`, `enabled` and `config` (replaced whole, validated for the kind)."""
    unknown = sorted(set(changes) - {"name", "enabled", "config"})
    if unknown:
        raise InvalidInput(f"{unknown[0]} cannot be changed.", field=unknown[0])
    changed = []
    if "config" in changes:
        shown, secret = _channel_config(channel.kind, changes.pop("config"))
        channel.config = shown
        channel.secret_encrypted = crypto.encrypt(secret) if secret else ""
        changed.append("config")
    for key, value in changes.items():
        if getattr(channel, key) != value:
            setattr(channel, key, value)
            changed.append(key)
    if not changed:
        return channel
    channel.save()
    _audit("alert_channel.updated", actor=actor, tenant=tenant, target=channel,
           fields=sorted(changed))  # fmt: skip
    return channel


@transaction.atomic
def alert_channel_delete(*, channel: AlertChannel, tenant, actor: Actor) -> None:
    _audit("alert_channel.deleted", actor=actor, tenant=tenant, target=channel, name=channel.name)
    channel.delete()


# --- Maintenance windows and silences -------------------------------------------------------


def _monitors(monitor_ids, field: str = "monitor_ids") -> list[Monitor]:
    ids = list(dict.fromkeys(monitor_ids))
    monitors = list(Monitor.objects.filter(pk__in=ids).only("id"))
    if len(monitors) != len(ids):
        missing = sorted({str(i) for i in ids} - {str(m.pk) for m in monitors})
        raise InvalidInput(f"No such monitor: {missing[0]}.", field=field)
    return monitors


def _check_span(starts_at: dt.datetime, ends_at: dt.datetime) -> None:
    if ends_at <= starts_at:
        raise InvalidInput("ends_at must be after starts_at.", field="ends_at")


@transaction.atomic
def maintenance_window_create(
    *, tenant, actor: Actor, name: str, starts_at: dt.datetime, ends_at: dt.datetime,
    monitor_ids: list | None = None,
) -> MaintenanceWindow:  # fmt: skip
    """Alerts of the chosen monitors (none chosen: all) are skipped and uptime leaves the time
    out. Rollups already written are not rewritten: a window in the past changes nothing."""
    _check_span(starts_at, ends_at)
    monitors = _monitors(monitor_ids or [])
    window = MaintenanceWindow.objects.create(name=name, starts_at=starts_at, ends_at=ends_at)
    if monitors:
        window.monitors.set(monitors)
    _audit("maintenance_window.created", actor=actor, tenant=tenant, target=window, name=name,
           starts_at=starts_at.isoformat(), ends_at=ends_at.isoformat(),
           monitors=[str(m.pk) for m in monitors])  # fmt: skip
    _status_pages_forget()
    return window


@transaction.atomic
def maintenance_window_update(
    *, window: MaintenanceWindow, tenant, actor: Actor, monitor_ids: list | None = None, **changes
) -> MaintenanceWindow:
    unknown = sorted(set(changes) - {"name", "starts_at", "ends_at"})
    if unknown:
        raise InvalidInput(f"{unknown[0]} cannot be changed.", field=unknown[0])
    changed = [k for k, v in changes.items() if getattr(window, k) != v]
    for key in changed:
        setattr(window, key, changes[key])
    _check_span(window.starts_at, window.ends_at)
    if monitor_ids is not None:
        monitors = _monitors(monitor_ids)
        if {m.pk for m in monitors} != {m.pk for m in window.monitors.all()}:
            window.monitors.set(monitors)
            changed.append("monitor_ids")
    if not changed:
        return window
    window.save()
    _audit("maintenance_window.updated", actor=actor, tenant=tenant, target=window,
           fields=sorted(changed))  # fmt: skip
    _status_pages_forget()
    return window


@transaction.atomic
def maintenance_window_delete(*, window: MaintenanceWindow, tenant, actor: Actor) -> None:
    _audit("maintenance_window.deleted", actor=actor, tenant=tenant, target=window,
           name=window.name)  # fmt: skip
    window.delete()
    _status_pages_forget()


@transaction.atomic
def silence_create(
    *, tenant, actor: Actor, ends_at: dt.datetime, monitor_id=None,
    starts_at: dt.datetime | None = None, reason: str = "",
) -> Silence:  # fmt: skip
    """Alerts of one monitor (or all) are logged as skipped="silenced" until `ends_at`; the
    time still counts for uptime (that is what maintenance windows are for)."""
    starts_at = starts_at or timezone.now()
    _check_span(starts_at, ends_at)
    if ends_at <= timezone.now():
        raise InvalidInput("ends_at must be in the future.", field="ends_at")
    monitor = _monitors([monitor_id], field="monitor_id")[0] if monitor_id else None
    silence = Silence.objects.create(monitor=monitor, starts_at=starts_at, ends_at=ends_at,
                                     reason=reason, created_by_id=actor.user_id)  # fmt: skip
    _audit("silence.created", actor=actor, tenant=tenant, target=silence,
           monitor_id=str(monitor_id) if monitor_id else None, ends_at=ends_at.isoformat(),
           reason=reason[:200])  # fmt: skip
    return silence


@transaction.atomic
def silence_expire(*, silence: Silence, tenant, actor: Actor) -> Silence:
    """End a silence now (one not started yet ends before it starts); kept for the record."""
    now = timezone.now()
    if silence.ends_at <= now:
        return silence
    silence.ends_at = max(now, silence.starts_at)
    silence.save(update_fields=["ends_at", "updated_at"])
    _audit("silence.expired", actor=actor, tenant=tenant, target=silence)
    return silence


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
    results_cutoff = now - dt.timedelta(days=config_get("monitoring.results_retention_days"))
    rollup_cutoff = now - dt.timedelta(days=config_get("monitoring.rollup_retention_days"))
    results, _ = CheckResult.objects.filter(checked_at__lt=results_cutoff).delete()
    rollups, _ = UptimeRollup.objects.filter(hour__lt=rollup_cutoff).delete()
    logs, _ = AlertLog.objects.filter(Q(created_at__lt=rollup_cutoff)).delete()
    return {"results": results, "rollups": rollups, "alert_logs": logs}


# --- Monitors of deployed apps (kept by apps.monitoring.app_monitors) -----------------------


def app_monitor_ensure(*, tenant, app_id, name: str, url: str) -> Monitor | None:
    """The HTTP monitor of a deployed app: created on its first successful deployment, its URL
    kept current. None when the tenant's plan has no room for another monitor (not an error:
    the app runs, unmonitored; the tenant is told once in the audit log)."""
    monitor = Monitor.objects.filter(app_id=app_id).first()
    if monitor is not None:
        if monitor.url != url:
            monitor_update(monitor=monitor, tenant=tenant, actor=SYSTEM, url=url)
        return monitor
    try:
        with transaction.atomic():
            monitor = monitor_create(
                tenant=tenant, actor=SYSTEM, kind=MonitorKind.HTTP, name=name[:100], url=url
            )
    except ApplicationError as exc:
        _audit("monitor.app_monitor_skipped", actor=SYSTEM, tenant=tenant,
               app_id=str(app_id), reason=exc.detail)  # fmt: skip
        return None
    Monitor.objects.filter(pk=monitor.pk).update(app_id=app_id)
    monitor.app_id = app_id
    return monitor


def app_monitor_remove(*, tenant, app_id) -> None:
    monitor = Monitor.objects.filter(app_id=app_id).first()
    if monitor is not None:
        monitor_delete(monitor=monitor, tenant=tenant, actor=SYSTEM)


# --- Status pages ---------------------------------------------------------------------------

STATUS_PAGE_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,48}[a-z0-9]$")
# Slugs that would read as something of ours (or be confusing) on /status/<slug>/.
RESERVED_STATUS_SLUGS = frozenset({
    "about", "admin", "api", "app", "apps", "assets", "auth", "billing", "blog", "console",
    "dashboard", "docs", "help", "json", "login", "logout", "media", "new", "ping", "quayside",
    "root", "security", "settings", "signup", "static", "status", "support", "system", "www",
})  # fmt: skip
STATUS_PAGE_FIELDS = ("slug", "title", "description", "announcement", "public", "monitor_ids")


class StatusPageNotFound(ApplicationError):
    status = 404
    slug = "not-found"


def _status_slug_check(slug: str) -> str:
    if not STATUS_PAGE_SLUG.match(slug or ""):
        raise InvalidInput(
            "3 to 50 lowercase letters, digits and hyphens, starting and ending with a letter "
            "or digit.",
            field="slug",
        )
    if slug in RESERVED_STATUS_SLUGS:
        raise InvalidInput(f"{slug!r} is reserved: choose another slug.", field="slug",
                           code="reserved")  # fmt: skip
    return slug


def _status_monitor_ids(monitor_ids) -> list:
    """The ids in their order, each once, all monitors of this tenant (else 400 naming
    monitor_ids)."""
    ids: list = []
    for value in monitor_ids or ():
        try:
            pk = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
        except ValueError:
            raise InvalidInput(f"{value!r} is not a monitor id.", field="monitor_ids") from None
        if pk not in ids:
            ids.append(pk)
    limit = settings.MONITORING_STATUS_PAGE_MAX_MONITORS
    if len(ids) > limit:
        raise InvalidInput(f"A status page shows at most {limit} monitors.", field="monitor_ids")
    known = set(Monitor.objects.filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    unknown = [str(pk) for pk in ids if pk not in known]
    if unknown:
        raise InvalidInput(
            f"No such monitor: {', '.join(unknown[:5])}{' …' if len(unknown) > 5 else ''}.",
            field="monitor_ids",
            code="does_not_exist",
        )
    return ids


def _status_entries_write(page: StatusPage, ids: list) -> None:
    StatusPageMonitor.objects.filter(page=page).delete()
    StatusPageMonitor.objects.bulk_create(
        StatusPageMonitor(page=page, monitor_id=pk, position=n) for n, pk in enumerate(ids)
    )


def _status_route_claim(*, slug: str, tenant, page: StatusPage, create: bool) -> None:
    """Write the public slug index; a slug in use anywhere (any tenant) is 409 conflict."""
    taken = Conflict(f"The status page slug {slug!r} is taken: choose another.",
                     extra={"field": "slug"})  # fmt: skip
    if StatusPageRoute.objects.filter(slug=slug).exclude(page_id=page.pk).exists():
        raise taken
    try:
        with transaction.atomic():  # a savepoint: a concurrent claim loses cleanly
            if create:
                StatusPageRoute.objects.create(slug=slug, tenant_id=tenant.pk, page_id=page.pk)
            else:
                StatusPageRoute.objects.filter(page_id=page.pk).update(slug=slug)
    except IntegrityError:
        raise taken from None


def _status_cache_forget(*slugs: str) -> None:
    transaction.on_commit(functools.partial(_status_generation_bump, slugs))


def _status_generation_bump(slugs) -> None:
    for slug in slugs:
        key = status_page_generation_key(slug)
        cache.add(key, 0, timeout=None)
        cache.incr(key)


def _status_pages_forget() -> None:
    """A change every page of the tenant may show (a monitor renamed or deleted, maintenance)."""
    _status_cache_forget(*StatusPage.objects.values_list("slug", flat=True))


@transaction.atomic
def status_page_create(
    *,
    tenant,
    actor: Actor,
    slug: str,
    title: str,
    description: str = "",
    announcement: str = "",
    public: bool = True,
    monitor_ids=(),
) -> StatusPage:
    slug = _status_slug_check(slug)
    if not (title or "").strip():
        raise InvalidInput("A title is required.", field="title")
    ids = _status_monitor_ids(monitor_ids)
    page = StatusPage(slug=slug, title=title.strip(), description=description,
                      announcement=announcement, public=public,
                      created_by_id=actor.user_id)  # fmt: skip
    _status_route_claim(slug=slug, tenant=tenant, page=page, create=True)
    page.save()
    _status_entries_write(page, ids)
    _status_cache_forget(slug)
    _audit("status_page.created", actor=actor, tenant=tenant, target=page, slug=slug,
           monitors=len(ids))  # fmt: skip
    return page


@transaction.atomic
def status_page_update(*, page: StatusPage, tenant, actor: Actor, **changes) -> StatusPage:
    unknown = sorted(k for k in changes if k not in STATUS_PAGE_FIELDS)
    if unknown:
        raise InvalidInput(f"{unknown[0]} cannot be changed.", field=unknown[0])
    page = StatusPage.objects.select_for_update().get(pk=page.pk)
    old_slug = page.slug
    changed: list[str] = []
    if "monitor_ids" in changes:
        ids = _status_monitor_ids(changes.pop("monitor_ids"))
        current = list(
            StatusPageMonitor.objects.filter(page=page).values_list("monitor_id", flat=True)
        )
        if ids != current:
            _status_entries_write(page, ids)
            changed.append("monitor_ids")
    if "slug" in changes and changes["slug"] != page.slug:
        _status_route_claim(slug=_status_slug_check(changes["slug"]), tenant=tenant, page=page,
                            create=False)  # fmt: skip
    if "title" in changes:
        if not (changes["title"] or "").strip():
            raise InvalidInput("A title is required.", field="title")
        changes["title"] = changes["title"].strip()
    for key, value in changes.items():
        if getattr(page, key) != value:
            setattr(page, key, value)
            changed.append(key)
    if not changed:
        return page
    page.save()  # also when only the monitors changed: updated_at says the page changed
    _status_cache_forget(old_slug, page.slug)
    _audit("status_page.updated", actor=actor, tenant=tenant, target=page, fields=sorted(changed))
    return page


@transaction.atomic
def status_page_delete(*, page: StatusPage, tenant, actor: Actor) -> None:
    StatusPageRoute.objects.filter(page_id=page.pk).delete()
    _status_cache_forget(page.slug)
    _audit("status_page.deleted", actor=actor, tenant=tenant, target=page, slug=page.slug)
    page.delete()
