"""Celery tasks of outgoing webhooks. Thin and idempotent: they take ids or nothing.

The deliverer's task names keep the `monitoring.` prefix they had before webhooks moved out of
apps.monitoring: queued tasks, django-celery-beat rows and CELERY_TASK_ROUTES name them so."""

from __future__ import annotations

import secrets

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.tenants.models import Tenant, TenantStatus

from . import delivery, services
from .due.models import WebhookDue

WEBHOOK_SLOT_KEY = "monitoring:webhooks:runner:{}"


@shared_task(name="monitoring.webhooks_tick", ignore_result=True)
def webhooks_tick() -> None:
    """Beat: start a deliverer when something is due (retries, missed kicks)."""
    if WebhookDue.objects.filter(due_at__lte=timezone.now()).exists():
        for _ in range(settings.WEBHOOKS_RUNNERS):
            webhooks_deliver.delay()


@shared_task(name="monitoring.webhooks_deliver", ignore_result=True, acks_late=False)
def webhooks_deliver(budget_s: float | None = None) -> dict:
    """Deliver due webhook messages until idle (WEBHOOKS_IDLE_EXIT_S) or the budget is spent;
    at most WEBHOOKS_RUNNERS at once (a slot in Redis), so kicks never stack runners."""
    budget = settings.WEBHOOKS_RUN_BUDGET_S if budget_s is None else budget_s
    token = secrets.token_hex(8)
    for slot in range(settings.WEBHOOKS_RUNNERS):
        key = WEBHOOK_SLOT_KEY.format(slot)
        # Held past the budget while the last claims finish: up to a lease more.
        if cache.add(key, token, timeout=int(budget) + settings.WEBHOOKS_LEASE_S + 60):
            break
    else:
        return {"busy": 1}
    try:
        return delivery.run_due(budget_s=budget, idle_exit_s=settings.WEBHOOKS_IDLE_EXIT_S)
    finally:
        if cache.get(key) == token:
            cache.delete(key)


@shared_task(name="webhooks.purge", ignore_result=True)
def purge() -> dict:
    """Retention: finished messages (and their attempts) after WEBHOOKS_RETENTION_DAYS."""
    purged = 0
    for tenant in Tenant.objects.exclude(status=TenantStatus.DELETED).exclude(
        schema_name=settings.PUBLIC_SCHEMA_NAME
    ):
        with tenant_context(tenant):
            purged += services.webhook_messages_purge()
    return {"webhook_messages": purged}
