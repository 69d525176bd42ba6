"""What the runtime tells after the fact, kept per app in its tenant's schema: processes that
ended without being asked to (OOM kills, crashes) and each process's CPU and memory use. The
`deploy.sample_runtime` beat task (every 60 s) runs `sample_runtime`; reads are in
usage_selectors.py.

- **Exits.** `provider.process_exits(cursor)` answers the exits since `cursor` and the cursor to
  pass next time. The cursor is kept in the cache (Redis, no expiry) under the provider's name
  and this host's, so it outlives worker restarts, and it moves on only once every exit read was
  recorded. Reading exits again is harmless: a ProcessEvent is unique per app, deployment,
  process and moment, so a lost cursor costs a re-read, never a duplicate. Each new exit emits
  `app.process_crashed` through the outbox, in the transaction that records it.
- **Usage.** `provider.usage()` gives each running process's cumulative CPU time and its memory
  now: one ProcessSample per process and minute (a second pass in the same minute adds
  nothing), the CPU rate in millicores from the process's previous sample. Samples older than
  24 h are deleted in the same pass for the apps sampled (on the (app, at) index), and by the
  hourly `deploy.logs_purge` for apps that no longer run (`history_prune`).

The runtime names apps by key (the app id's hex); one query per 200 tenant schemas finds whose
they are (usage_selectors.apps_by_key), and each tenant's rows are written in its schema."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.core.locks import advisory_xact_lock
from apps.tenants.models import Tenant

from . import events
from .models import App, Deployment, ProcessEvent, ProcessExitReason, ProcessSample
from .runtime import RuntimeProblem, RuntimeProvider, get_provider
from .runtime.base import ProcessExit, UsageSample
from .selectors import tenant_schemas
from .usage_selectors import HISTORY, apps_by_key

logger = logging.getLogger(__name__)

CURSOR_KEY = "deploy:process-exits-cursor:{provider}:{host}"
# A previous sample older than this gives no CPU rate (the sampler was stopped meanwhile).
RATE_WINDOW = dt.timedelta(minutes=10)
SMALLINT = range(-32768, 32768)


@dataclass
class SampleReport:
    exits_read: int = 0
    exits_recorded: int = 0
    samples_read: int = 0
    samples_recorded: int = 0
    samples_pruned: int = 0
    unknown_apps: int = 0  # processes of apps no tenant has (deleted): ignored
    tenants: int = 0
    cursor_moved: bool = False
    errors: list[str] = field(default_factory=list)


def cursor_key(provider: RuntimeProvider) -> str:
    """Where the exits cursor of this provider on this host is kept."""
    return CURSOR_KEY.format(provider=provider.name or type(provider).__name__,
                             host=socket.gethostname())  # fmt: skip


def _when(unix_time: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(unix_time, tz=dt.UTC)


def sample_runtime(*, provider: RuntimeProvider | None = None) -> SampleReport:
    """Record the runtime's new exits and its processes' use now, in every tenant concerned."""
    provider = provider or get_provider()
    report = SampleReport()
    key = cursor_key(provider)
    cursor = cache.get(key) or ""
    try:
        exits, next_cursor = provider.process_exits(cursor)
        samples = provider.usage()
    except RuntimeProblem as exc:
        logger.warning("Runtime sampling skipped: %s", exc.message)
        report.errors.append(exc.message)
        return report
    report.exits_read, report.samples_read = len(exits), len(samples)
    located = apps_by_key({e.app_key for e in exits} | {s.app_key for s in samples})
    work: dict[uuid.UUID, tuple[list[ProcessExit], list[UsageSample]]] = defaultdict(
        lambda: ([], [])
    )
    for item in (*exits, *samples):
        schema = located.get(item.app_key)
        if schema is None:
            report.unknown_apps += 1
            continue
        work[schema.tenant_id][0 if isinstance(item, ProcessExit) else 1].append(item)
    tenants = {t.pk: t for t in Tenant.objects.filter(pk__in=list(work))}
    exits_failed = False
    for tenant_id, (tenant_exits, tenant_samples) in work.items():
        tenant = tenants.get(tenant_id)
        if tenant is None:
            continue
        report.tenants += 1
        with tenant_context(tenant):
            if tenant_exits:
                try:
                    report.exits_recorded += len(exits_record(tenant=tenant, exits=tenant_exits))
                except Exception as exc:
                    logger.exception("Recording process exits of tenant %s failed", tenant.slug)
                    report.errors.append(f"{tenant.slug}: exits: {exc}")
                    exits_failed = True
            if tenant_samples:
                try:
                    recorded, pruned = samples_record(samples=tenant_samples)
                    report.samples_recorded += recorded
                    report.samples_pruned += pruned
                except Exception as exc:
                    logger.exception("Recording usage of tenant %s failed", tenant.slug)
                    report.errors.append(f"{tenant.slug}: usage: {exc}")
    # Exits not recorded are read again next time (recording is idempotent).
    if not exits_failed and next_cursor != cursor:
        cache.set(key, next_cursor, timeout=None)
        report.cursor_moved = True
    return report


# --- Exits --------------------------------------------------------------------------------
def _small(value: int | None) -> int | None:
    return value if value is not None and value in SMALLINT else None


def _deployments(pairs: set[tuple[uuid.UUID, str]]) -> dict[tuple[uuid.UUID, str], Deployment]:
    """Deployments by (app id, deployment key): a key is the start of the deployment id's hex
    (pipeline.deployment_key), so each is a range of ids on the primary key. One query."""
    ranges = []
    for app_id, key in pairs:
        if not key or len(key) > 32 or any(c not in "0123456789abcdef" for c in key):
            continue
        low, high = uuid.UUID(hex=key.ljust(32, "0")), uuid.UUID(hex=key.ljust(32, "f"))
        ranges.append(Q(app_id=app_id, pk__gte=low, pk__lte=high))
    if not ranges:
        return {}
    found = Deployment.objects.filter(reduce(or_, ranges)).only("id", "app_id")
    by_key = {}
    for deployment in found:
        for app_id, key in pairs:
            if deployment.app_id == app_id and deployment.pk.hex.startswith(key):
                by_key[(app_id, key)] = deployment
    return by_key


@transaction.atomic
def exits_record(*, tenant: Tenant, exits: list[ProcessExit]) -> list[ProcessEvent]:
    """Record the exits not recorded yet (in the current tenant's schema) and emit
    `app.process_crashed` for each; the new events. Serialised per schema, so two samplers
    at once cannot both record one exit."""
    advisory_xact_lock(f"deploy:process-events:{connection.schema_name}")
    ids = {uuid.UUID(hex=e.app_key) for e in exits}
    apps = {app.pk.hex: app for app in App.objects.select_related("current_release").filter(
        pk__in=ids)}  # fmt: skip
    candidates: dict[tuple, ProcessEvent] = {}
    for item in exits:
        app = apps.get(item.app_key)
        if app is None:
            continue
        reason = item.reason if item.reason in ProcessExitReason.values else "crashed"
        event = ProcessEvent(
            app=app,
            deployment_key=item.deployment_key[:32],
            process_type=item.process_type[:30],
            index=item.index,
            reason=reason,
            exit_code=_small(item.exit_code),
            signal=_small(item.signal),
            at=_when(item.at),
        )
        key = (app.pk, event.deployment_key, event.process_type, event.index, event.at)
        candidates.setdefault(key, event)
    if not candidates:
        return []
    known = set(
        ProcessEvent.objects.filter(
            app__in=list(apps.values()), at__in={key[-1] for key in candidates}
        ).values_list("app_id", "deployment_key", "process_type", "index", "at")
    )
    new = [event for key, event in candidates.items() if key not in known]
    deployments = _deployments({(e.app_id, e.deployment_key) for e in new})
    for event in new:
        event.deployment = deployments.get((event.app_id, event.deployment_key))
    ProcessEvent.objects.bulk_create(new)
    for event in sorted(new, key=lambda e: e.at):
        events.process_crashed_event(event, tenant=tenant)
    return new


# --- Usage --------------------------------------------------------------------------------
def samples_record(*, samples: list[UsageSample]) -> tuple[int, int]:
    """One row per process and minute, with the CPU rate since its previous sample; then drop
    the sampled apps' rows older than HISTORY. (rows written, rows deleted)."""
    ids = {uuid.UUID(hex=s.app_key) for s in samples}
    app_ids = {pk.hex: pk for pk in App.objects.filter(pk__in=ids).values_list("pk", flat=True)}
    if not app_ids:
        return 0, 0
    newest = max(_when(s.at) for s in samples)
    keys = ("app_id", "deployment_key", "process_type", "index")
    previous = {
        row[:4]: row[4:]
        for row in ProcessSample.objects.filter(
            app_id__in=list(app_ids.values()), at__gte=newest - RATE_WINDOW
        )
        .order_by(*keys, "-sampled_at")
        .distinct(*keys)
        .values_list(*keys, "at", "sampled_at", "cpu_ns")
    }
    rows = []
    for sample in samples:
        app_id = app_ids.get(sample.app_key)
        if app_id is None:
            continue
        sampled_at = _when(sample.at)
        minute = sampled_at.replace(second=0, microsecond=0)
        key = (app_id, sample.deployment_key[:32], sample.process_type[:30], sample.index)
        before = previous.get(key)
        if before is not None and before[0] >= minute:
            continue  # this minute has its sample already (a second pass within the minute)
        rows.append(
            ProcessSample(
                app_id=app_id,
                deployment_key=key[1],
                process_type=key[2],
                index=key[3],
                at=minute,
                sampled_at=sampled_at,
                cpu_ns=max(0, sample.cpu_ns),
                cpu_millicores=_rate(before, sampled_at, sample.cpu_ns),
                memory_bytes=max(0, sample.memory_bytes),
                memory_limit_bytes=sample.memory_limit_bytes,
            )
        )
    # A sampler running at the same moment may have written some: theirs are kept.
    ProcessSample.objects.bulk_create(rows, ignore_conflicts=True)
    pruned = _delete_before(ProcessSample, timezone.now() - HISTORY, list(app_ids.values()))
    return len(rows), pruned


def _rate(previous, sampled_at: dt.datetime, cpu_ns: int) -> int | None:
    """Millicores used between the previous sample and this one (1000: one core busy)."""
    if previous is None:
        return None
    _minute, before_at, before_ns = previous
    elapsed = (sampled_at - before_at).total_seconds()
    if elapsed <= 0:
        return None
    used = cpu_ns - before_ns
    if used < 0:  # the process restarted since: its counter began again
        used = cpu_ns
    return round(used / elapsed / 1_000_000)


# --- Pruning --------------------------------------------------------------------------------
def _delete_before(model, cutoff: dt.datetime, app_ids: list | None = None) -> int:
    """Delete `model`'s rows older than `cutoff` (of `app_ids`) in the current schema with one
    statement. Not QuerySet.delete(): a post_delete receiver of django-tenants' (connected for
    every model) makes that load each row first, and nothing refers to these rows."""
    sql = f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)} WHERE at < %s"
    params: list = [cutoff]
    if app_ids is not None:
        sql += " AND app_id = ANY(%s)"
        params.append(app_ids)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def history_prune(*, event_retention: dt.timedelta) -> dict[str, int]:
    """Samples older than HISTORY and exits older than `event_retention`, in every tenant
    (hourly, from deploy.logs_purge: apps that no longer run are not visited by the sampler's
    own pruning). One statement per table and tenant."""
    now = timezone.now()
    pruned = {"samples": 0, "events": 0}
    ids = [schema.tenant_id for schema in tenant_schemas()]
    for tenant in Tenant.objects.filter(pk__in=ids):
        with tenant_context(tenant):
            pruned["samples"] += _delete_before(ProcessSample, now - HISTORY)
            pruned["events"] += _delete_before(ProcessEvent, now - event_retention)
    return pruned
