"""Check results, the hot path: results_apply() writes a batch of outcomes for one tenant in a
constant number of statements (one locking read of the monitors, one bulk insert of results,
one bulk update of monitors, one upsert of hourly rollups, plus a few rows per state change);
and the retention purge of old results, rollups and alert logs."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.platform_config import config_get

from .. import uptime
from ..checks.base import Outcome
from ..models import (
    AlertLog,
    CheckResult,
    MaintenanceWindow,
    Monitor,
    MonitorStatus,
    ResultSource,
    UptimeRollup,
)
from .incidents import _silences_for, _transition
from .validation import heartbeat_deadline

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
