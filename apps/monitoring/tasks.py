"""Celery tasks of the monitoring app. Thin and idempotent: they take ids or nothing.

`monitoring.tick` (beat) sends MONITORING_RUNNERS `monitoring.run_due` tasks; each takes a runner
slot in Redis (so at most MONITORING_RUNNERS run at once, however many ticks queue up), runs
the scheduler for MONITORING_RUN_BUDGET_S and then queues its successor. They run in the public
schema and switch to each tenant's schema to write."""

from __future__ import annotations

import secrets

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django_tenants.utils import tenant_context

from apps.tenants.models import Tenant, TenantStatus

from . import scheduler, services
from .alerts import deliver
from .models import AlertLog

SLOT_KEY = "monitoring:runner:{}"


@shared_task(name="monitoring.tick", ignore_result=True)
def tick() -> None:
    for _ in range(settings.MONITORING_RUNNERS):
        run_due.delay()


@shared_task(name="monitoring.run_due", bind=True, ignore_result=True, acks_late=False)
def run_due(self, budget_s: float | None = None) -> dict:
    """Run the scheduler for a budget, then queue a successor on the same queue, so a runner
    hands over without waiting for the next tick (the tick still restarts runners that died).
    The successor goes to the back of the queue: other tasks waiting for a worker process get
    it first."""
    budget = settings.MONITORING_RUN_BUDGET_S if budget_s is None else budget_s
    token = secrets.token_hex(8)
    for slot in range(settings.MONITORING_RUNNERS):
        key = SLOT_KEY.format(slot)
        if cache.add(key, token, timeout=int(budget) + 60):
            break
    else:
        return {"busy": 1}
    try:
        counters = scheduler.run_due(budget_s=budget, idle_exit=False)
    finally:
        if cache.get(key) == token:
            cache.delete(key)
    # Only after a run that ended well: a failing one (database down, say) must not requeue
    # itself in a tight loop; the next tick retries.
    request = self.request
    if settings.MONITORING_RUN_HANDOVER and not (request.called_directly or request.is_eager):
        queue = (request.delivery_info or {}).get("routing_key")
        run_due.apply_async(kwargs={"budget_s": budget_s}, queue=queue)
    return counters


@shared_task(name="monitoring.alerts_send", bind=True, max_retries=3, default_retry_delay=30)
def alerts_send(self, log_ids: list) -> int:
    """Deliver logged alerts (runs in the tenant schema it was sent from)."""
    tenant = getattr(connection, "tenant", None)
    sent = 0
    for log in AlertLog.objects.select_related("channel", "monitor").filter(pk__in=log_ids):
        if log.channel is None:
            continue
        sent += deliver(log, tenant=tenant).ok
    return sent


@shared_task(name="monitoring.purge", ignore_result=True)
def purge() -> dict:
    """Retention: raw results after MONITORING_RESULTS_RETENTION_DAYS, rollups later."""
    totals: dict[str, int] = {}
    for tenant in Tenant.objects.exclude(status=TenantStatus.DELETED).exclude(
        schema_name=settings.PUBLIC_SCHEMA_NAME
    ):
        with tenant_context(tenant):
            for key, value in services.results_purge().items():
                totals[key] = totals.get(key, 0) + value
    return totals
