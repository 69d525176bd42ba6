"""Reads of process exits and CPU/memory history (written by usage_history.py): per process for
`GET /apps/{id}/processes` and `/status`, per app for its status, series for
`GET /apps/{id}/metrics` and the console's charts. Each costs a fixed number of queries whatever
the number of processes, exits or samples."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q

from .models import App, ProcessEvent, ProcessExitReason, ProcessSample
from .selectors import TenantSchema, _union, tenant_schemas

# "Recent" exits (restarts and OOM kills counted per process and per app): as long as samples.
RECENT = dt.timedelta(hours=24)
HISTORY = dt.timedelta(hours=24)  # how far back samples are kept (and may be asked for)
EXITS_LISTED = 200  # the newest exits a metrics answer carries

ProcessKey = tuple[str, str, int]  # (deployment_key, process_type, index)


# --- Across tenants -----------------------------------------------------------------------
def apps_by_key(app_keys: set[str]) -> dict[str, TenantSchema]:
    """The tenant schema of each app named by its runtime key (the app id's hex), for whatever
    the runtime reports; keys of no app (deleted, or not ours) are left out. One query per 200
    tenant schemas."""
    ids = []
    for key in app_keys:
        try:
            ids.append(uuid.UUID(hex=key))
        except (TypeError, ValueError):
            continue
    if not ids:
        return {}
    schemas = tenant_schemas()
    by_name = {s.schema_name: s for s in schemas}
    rows = _union("SELECT %s, id FROM {schema}.deploy_app WHERE id = ANY(%s)", [ids], schemas)
    return {pk.hex: by_name[schema] for schema, pk in rows}


# --- Exits --------------------------------------------------------------------------------
@dataclass
class ProcessHistory:
    """One process's exits: the last one ever, and how many in the last RECENT."""

    last_exit: ProcessEvent | None = None
    restarts: int = 0  # exits of any reason (each one is followed by a restart)
    oom_kills: int = 0


def process_histories(
    *, app: App, keys: list[ProcessKey], now: dt.datetime
) -> dict[ProcessKey, ProcessHistory]:
    """The exits of each of `keys` (the processes the runtime lists): two queries."""
    histories: dict[ProcessKey, ProcessHistory] = defaultdict(ProcessHistory)
    deployment_keys = sorted({key[0] for key in keys})
    if not deployment_keys:
        return histories
    events = ProcessEvent.objects.filter(app=app, deployment_key__in=deployment_keys)
    counts = (
        events.filter(at__gte=now - RECENT)
        .values_list("deployment_key", "process_type", "index", "reason")
        .annotate(n=Count("id"))
        .order_by()
    )
    for deployment_key, process_type, index, reason, n in counts:
        history = histories[(deployment_key, process_type, index)]
        history.restarts += n
        if reason == ProcessExitReason.OOM_KILLED:
            history.oom_kills += n
    last = events.order_by("deployment_key", "process_type", "index", "-at", "-id").distinct(
        "deployment_key", "process_type", "index"
    )
    for event in last:
        histories[(event.deployment_key, event.process_type, event.index)].last_exit = event
    return histories


@dataclass(frozen=True)
class CrashSummary:
    """An app's exits at a glance: the last one, and how many in the last RECENT."""

    last_crash: ProcessEvent | None
    crashes: int
    oom_kills: int


def crash_summary(*, app: App, now: dt.datetime) -> CrashSummary:
    """Two queries (the newest exit on the (app, at) index, and the counts)."""
    events = ProcessEvent.objects.filter(app=app)
    last = events.order_by("-at", "-id").first()
    counts = events.filter(at__gte=now - RECENT).aggregate(
        crashes=Count("id"), oom=Count("id", filter=Q(reason=ProcessExitReason.OOM_KILLED))
    )
    return CrashSummary(last_crash=last, crashes=counts["crashes"], oom_kills=counts["oom"])


def exits_between(
    *, app: App, since: dt.datetime, until: dt.datetime, process_type: str = "", index=None
) -> list[ProcessEvent]:
    """The newest EXITS_LISTED exits in [since, until], oldest first."""
    events = ProcessEvent.objects.filter(app=app, at__gte=since, at__lte=until)
    if process_type:
        events = events.filter(process_type=process_type)
    if index is not None:
        events = events.filter(index=index)
    return list(events.order_by("-at", "-id")[:EXITS_LISTED])[::-1]


# --- Samples ------------------------------------------------------------------------------
@dataclass
class Series:
    """One process's samples in a window (a process of one deployment: a redeploy starts new
    series), oldest first."""

    process_type: str
    index: int
    deployment_key: str
    memory_limit_bytes: int | None = None
    points: list[tuple[dt.datetime, int | None, int]] = field(default_factory=list)
    # (minute, cpu_millicores or None, memory_bytes)


def usage_series(
    *,
    app: App,
    since: dt.datetime,
    until: dt.datetime,
    process_type: str = "",
    index: int | None = None,
) -> list[Series]:
    """Every process's samples in [since, until], one series per process: one query."""
    samples = ProcessSample.objects.filter(app=app, at__gte=since, at__lte=until)
    if process_type:
        samples = samples.filter(process_type=process_type)
    if index is not None:
        samples = samples.filter(index=index)
    rows = samples.order_by("process_type", "index", "deployment_key", "at").values_list(
        "process_type",
        "index",
        "deployment_key",
        "at",
        "cpu_millicores",
        "memory_bytes",
        "memory_limit_bytes",
    )
    series: dict[ProcessKey, Series] = {}
    for ptype, idx, dkey, at, cpu, memory, limit in rows:
        one = series.get((dkey, ptype, idx))
        if one is None:
            one = series[(dkey, ptype, idx)] = Series(ptype, idx, dkey)
        one.points.append((at, cpu, memory))
        if limit is not None:
            one.memory_limit_bytes = limit
    # Oldest first by when each began, so a redeploy's new processes follow the old ones.
    return sorted(series.values(), key=lambda s: (s.points[0][0], s.process_type, s.index))
