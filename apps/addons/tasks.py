"""Celery tasks of the add-ons app: thin, they take ids and call services (idempotent bodies).

addons.provision, addons.destroy and addons.rotation_finish run in the tenant schema they were
sent from (tenant-schemas-celery); addons.sizes_check (beat) visits every tenant itself."""

from __future__ import annotations

from celery import shared_task
from django.db import connection
from django_tenants.utils import tenant_context

from apps.tenants.models import Tenant

from . import orphans, selectors, services


def _tenant():
    return getattr(connection, "tenant", None)


@shared_task(name="addons.provision", acks_late=True)
def addon_provision_task(addon_id: str) -> str:
    return services.addon_provision(addon_id=addon_id, tenant=_tenant()).status


@shared_task(name="addons.destroy", acks_late=True)
def addon_destroy_task(addon_id: str) -> None:
    services.addon_destroy_execute(addon_id=addon_id)


@shared_task(name="addons.rotation_finish", bind=True, max_retries=120)
def addon_rotation_finish_task(self, addon_id: str) -> bool:
    if not services.addon_rotation_finish(addon_id=addon_id):
        raise self.retry(countdown=10)
    return True


@shared_task(name="addons.sizes_check")
def addons_sizes_check() -> dict:
    """Every tenant's add-ons measured and held to their plans; expired session roles and the
    leftovers of deleted add-ons (orphans.py) dropped."""
    checked = 0
    for tenant in Tenant.objects.exclude(schema_name="public").exclude(status="deleted"):
        with tenant_context(tenant):
            for addon in selectors.addons_all().filter(status="available"):
                try:
                    services.addon_size_check(addon=addon, tenant=tenant)
                    checked += 1
                except Exception:
                    services.logger.exception("Size check of add-on %s failed", addon.pk)
    return {
        "checked": checked,
        "sessions_dropped": services.sessions_expired_drop(),
        "orphans_dropped": orphans.addons_orphans_sweep(),
    }
