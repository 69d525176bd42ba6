"""Celery tasks of add-on backups: thin, they take ids and call services (idempotent: the
services claim their row first). Imported by apps/addons/tasks.py, so Celery finds them.

addons.backup_run and addons.restore_run run in the tenant schema they were sent from
(tenant-schemas-celery); addons.backups_scheduled (beat, hourly) visits every tenant itself."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import connection
from django_tenants.utils import tenant_context

from apps.tenants.models import Tenant

from . import services

logger = logging.getLogger(__name__)


def _tenant():
    return getattr(connection, "tenant", None)


@shared_task(name="addons.backup_run", acks_late=True)
def backup_run_task(backup_id: str) -> str:
    backup = services.backup_run(backup_id=backup_id, tenant=_tenant())
    return backup.status if backup else "gone"


@shared_task(name="addons.restore_run", bind=True, acks_late=True, max_retries=30)
def restore_run_task(self, restore_id: str) -> str:
    """Into a new add-on: its own provisioning task gets two minutes to make it, then this
    one provisions it (both idempotent)."""
    try:
        restore = services.restore_run(
            restore_id=restore_id, tenant=_tenant(), provision=self.request.retries >= 24
        )
    except services.NotYet:
        raise self.retry(countdown=5) from None
    return restore.status if restore else "gone"


@shared_task(name="addons.backups_scheduled")
def backups_scheduled() -> dict:
    """Every tenant: a backup of each add-on that is due, final backups past their time, and
    jobs a crashed worker left."""
    made = expired = reaped = 0
    for tenant in Tenant.objects.exclude(schema_name="public").exclude(status="deleted"):
        with tenant_context(tenant):
            try:
                made += services.backups_schedule(tenant=tenant)
                expired += services.backups_final_expire()
                reaped += sum(services.backups_reap(tenant=tenant).values())
            except Exception:
                logger.exception("Scheduling backups of tenant %s failed", tenant.pk)
    return {"scheduled": made, "final_expired": expired, "reaped": reaped}
