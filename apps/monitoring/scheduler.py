"""The check scheduler.

1. claim(): ONE statement finds due rows of the public schedule index across all tenants
   (`next_run_at <= now`, oldest first, `FOR UPDATE SKIP LOCKED`, so concurrent claimers never
   wait for or share a row), moves each row's `next_run_at` one interval on, and returns the
   rows with their tenant's schema. Once claimed, a due time is never claimed again; a worker
   that dies mid-check loses that one check, and the row is due again one interval later.
2. run_due(): a pipeline in one worker task. The calling thread owns the database: it claims
   rows while fewer than `concurrency` checks are in flight (again at once after a full batch,
   otherwise after MONITORING_CLAIM_EVERY_S), reads the claimed monitors of all their tenants
   in one statement, and writes finished outcomes in bulk per tenant (services.results_apply)
   every FLUSH_S. The checks run concurrently on an asyncio loop in a helper thread, each on a
   connection of its own (checks/transport.py), so one slow target never holds up a batch.
   Heartbeat rows need no network: their "late" verdict is decided on the calling thread.
   The loop thread and the drive loop are apps/core/async_runner.py's (the webhook deliverer
   uses them too); _Checks holds this scheduler's policy.

Several run_due tasks (one per worker process, MONITORING_RUNNERS) share the work through
SKIP LOCKED; `tick` (beat, every MONITORING_TICK_S) starts them, and a runner slot in Redis keeps
more than MONITORING_RUNNERS from running at once."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from functools import partial

import psycopg
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.core.async_runner import AsyncRunner, Pipeline
from apps.core.metrics import metric_inc, rate_add
from apps.tenants.models import Tenant, TenantStatus

from . import services
from .checks import CheckSpec, Outcome, run_check
from .checks.base import MONITOR_FIELDS
from .models import Monitor, MonitorKind, MonitorStatus, ResultSource
from .schedule.models import CheckSchedule

logger = logging.getLogger(__name__)

FLUSH_S = 0.5


@dataclass(frozen=True)
class Claimed:
    schedule_id: int
    monitor_id: object
    kind: str
    scheduled_at: dt.datetime
    tenant_id: object
    schema_name: str
    tenant_status: str


def claim(*, limit: int, now: dt.datetime | None = None) -> list[Claimed]:
    """Claim up to `limit` due checks (see the module docstring). One statement."""
    now = now or timezone.now()
    table = connection.ops.quote_name(CheckSchedule._meta.db_table)
    tenants = connection.ops.quote_name(Tenant._meta.db_table)
    sql = f"""
        WITH due AS (
            SELECT id, next_run_at FROM {table}
            WHERE next_run_at <= %(now)s
            ORDER BY next_run_at
            LIMIT %(limit)s
            FOR UPDATE SKIP LOCKED
        )
        UPDATE {table} AS s
        SET next_run_at = CASE
            WHEN due.next_run_at + make_interval(secs => s.interval_s) > %(now)s
            THEN due.next_run_at + make_interval(secs => s.interval_s)
            ELSE %(now)s + make_interval(secs => s.interval_s) END
        FROM due, {tenants} AS t
        WHERE s.id = due.id AND t.id = s.tenant_id
        RETURNING s.id, s.monitor_id, s.kind, due.next_run_at, t.id, t.schema_name, t.status
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"now": now, "limit": limit})
        return [Claimed(*row) for row in cursor.fetchall()]


async def _check(spec: CheckSpec) -> tuple[Outcome, dt.datetime]:
    """One check, as a job of the runner: its outcome and when it started."""
    checked_at = timezone.now()
    outcome = Outcome(ok=False, error="not run")
    try:
        outcome = await run_check(spec)
    except Exception:  # a bug must not lose the result
        logger.exception("A %s check failed", spec.kind)
    return outcome, checked_at


def _tenants(claims: list[Claimed]) -> dict:
    ids = {c.tenant_id for c in claims}
    return {t.pk: t for t in Tenant.objects.filter(pk__in=ids)}


def run_due(
    *,
    budget_s: float | None = None,
    idle_exit: bool = True,
    concurrency: int | None = None,
    batch: int | None = None,
) -> dict[str, int]:
    """Claim, check and record due checks until the budget is spent (or, with `idle_exit`,
    until nothing is due and nothing is in flight). Returns counters."""
    return _Checks(
        budget_s=budget_s, idle_exit=idle_exit, concurrency=concurrency, batch=batch
    ).run()


class _Checks(Pipeline):
    """run_due's policy on the shared drive loop (apps/core/async_runner.py)."""

    flush_s = FLUSH_S

    def __init__(self, *, budget_s, idle_exit: bool, concurrency, batch) -> None:
        self.concurrency = concurrency or settings.MONITORING_CONCURRENCY
        budget_s = settings.MONITORING_RUN_BUDGET_S if budget_s is None else budget_s
        super().__init__(budget_s=budget_s, limit=self.concurrency)
        self.batch = batch or settings.MONITORING_CLAIM_BATCH
        self.idle_exit = idle_exit
        self.claim_every = settings.MONITORING_CLAIM_EVERY_S
        self.counters = {"claimed": 0, "checked": 0, "written": 0, "skipped": 0}
        self.tenants: dict = {}
        self.next_claim = self.last_flush
        self.last_claimed = -1
        self.claiming = True

    def claim(self, now: float) -> int:
        self.claiming = now < self.deadline
        in_flight = len(self.runner.in_flight)
        if not (self.claiming and now >= self.next_claim and in_flight < self.concurrency):
            return 0
        limit = min(self.batch, self.concurrency - in_flight)
        claims = claim(limit=limit)
        self.last_claimed = len(claims)
        self.counters["claimed"] += self.last_claimed
        if claims:
            self.tenants.update(_tenants([c for c in claims if c.tenant_id not in self.tenants]))
            _start(claims, self.runner, self.buffer, self.counters)
        # A full batch: more is due, claim again at once. Otherwise let a few more checks fall
        # due first: a claim costs a handful of round trips whatever its size, and claiming
        # after every finished check cost more CPU than the checks.
        self.next_claim = now + (0 if self.last_claimed >= limit else self.claim_every)
        return self.last_claimed

    def wait_s(self, claimed: int) -> float:
        """Until the next claim or write is due."""
        until = self.flush_at() or self.deadline + 3600
        if self.claiming and len(self.runner.in_flight) < self.concurrency:
            until = min(until, self.next_claim)
        return max(0.0, until - time.monotonic())

    def finished(self, context, result) -> None:
        outcome, checked_at = result or (Outcome(ok=False, error="not run"), timezone.now())
        self.counters["checked"] += 1
        self.buffer.append((context, outcome, checked_at, ResultSource.CHECK))

    def flush(self, buffer: list) -> None:
        self.counters["written"] += _flush(buffer, self.tenants)

    def stop(self, claimed: int) -> bool:
        if self.runner.in_flight or self.buffer:
            return False
        if not self.claiming or (self.idle_exit and self.last_claimed == 0):
            return True
        if self.idle_exit:
            self.next_claim = time.monotonic()  # nothing in flight: look again at once
        else:
            time.sleep(max(0.0, min(self.next_claim, self.deadline) - time.monotonic()))
        return False


def _start(claims, runner: AsyncRunner, buffer: list, counters: dict) -> None:
    by_schema: dict[str, list[Claimed]] = defaultdict(list)
    for claimed in claims:
        if claimed.tenant_status != TenantStatus.ACTIVE:
            counters["skipped"] += 1
            continue
        by_schema[claimed.schema_name].append(claimed)
    max_body = settings.MONITORING_MAX_BODY_BYTES
    now = timezone.now()
    gone: list = []
    batch: list = []
    rows = _monitor_values(
        {
            schema: [c.monitor_id for c in items if c.kind != MonitorKind.HEARTBEAT]
            for schema, items in by_schema.items()
        }
    )
    for schema, items in by_schema.items():
        beats = [c.monitor_id for c in items if c.kind == MonitorKind.HEARTBEAT]
        beating = {}
        if beats:  # heartbeats need the model (and are few)
            with schema_context(schema):
                beating = Monitor.objects.in_bulk(beats)
        for claimed in items:
            if claimed.monitor_id in beating:
                monitor = beating[claimed.monitor_id]
                if monitor.status == MonitorStatus.PAUSED:
                    counters["skipped"] += 1
                    continue
                outcome = services.heartbeat_late_outcome(monitor, now)
                if outcome is not None:
                    buffer.append((claimed, outcome, now, ResultSource.LATE))
                continue
            row = rows.get(claimed.monitor_id)
            if row is None:
                gone.append(claimed.schedule_id)
                continue
            if row.pop("status") == MonitorStatus.PAUSED:
                counters["skipped"] += 1
                continue
            spec = CheckSpec.from_values(row, max_body_bytes=max_body)
            batch.append(
                ((claimed.schedule_id, claimed.scheduled_at), partial(_check, spec), claimed)
            )
    runner.submit_many(batch)
    if gone:  # the monitor was deleted (its tenant purged, say): drop its index row
        CheckSchedule.objects.filter(pk__in=gone).delete()


def _monitor_values(ids_by_schema: dict[str, list]) -> dict:
    """{monitor_id: {"status": …, MONITOR_FIELDS…}} for monitors of many tenants in ONE
    statement (a UNION ALL over their schemas): a query per tenant per claim made the
    scheduler's cost grow with the number of tenants in a batch. Plain values, not Monitor
    instances: building thousands of models per second costs real CPU."""
    ids_by_schema = {schema: ids for schema, ids in ids_by_schema.items() if ids}
    if not ids_by_schema:
        return {}
    quote = connection.ops.quote_name
    table = quote(Monitor._meta.db_table)
    columns = ["id", "status", *MONITOR_FIELDS]
    select = ", ".join(quote(Monitor._meta.get_field(name).column) for name in columns)
    parts = [
        f"SELECT {select} FROM {quote(schema)}.{table} WHERE id = ANY(%s::uuid[])"
        for schema in ids_by_schema
    ]
    with connection.cursor() as outer, psycopg.Cursor(outer.cursor.connection) as cursor:
        cursor.execute(" UNION ALL ".join(parts), list(ids_by_schema.values()), binary=True)
        rows = {row[0]: dict(zip(columns[1:], row[1:], strict=True)) for row in cursor}
    for row in rows.values():  # binary jsonb arrives decoded; be sure
        if isinstance(row["expected_status"], str):
            row["expected_status"] = json.loads(row["expected_status"])
    return rows


def _flush(buffer: list, tenants: dict) -> int:
    """Write outcomes, one results_apply (one transaction) per tenant."""
    _count(buffer)
    by_tenant: dict = defaultdict(list)
    for claimed, outcome, checked_at, source in buffer:
        lag_ms = int((checked_at - claimed.scheduled_at).total_seconds() * 1000)
        by_tenant[claimed.tenant_id].append(
            services.ResultItem(claimed.monitor_id, outcome, checked_at, source, lag_ms)
        )
    written = 0
    for tenant_id, items in by_tenant.items():
        tenant = tenants[tenant_id]
        try:
            with schema_context(tenant.schema_name):
                written += services.results_apply(tenant=tenant, items=items)["written"]
        except Exception:  # one tenant's failure must not lose the others' results
            logger.exception("Writing %d results of tenant %s failed", len(items), tenant.slug)
    return written


def _count(buffer: list) -> None:
    """quayside_checks_total and the dashboard's checks-per-minute (three Redis calls a flush)."""
    ok = sum(1 for _claimed, outcome, _at, _source in buffer if outcome.ok)
    for result, amount in (("ok", ok), ("failed", len(buffer) - ok)):
        if amount:
            metric_inc("quayside_checks_total", amount, result=result)
    rate_add("checks", len(buffer))
