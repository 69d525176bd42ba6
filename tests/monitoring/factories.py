"""Monitoring data for tests, made through the services, and the real scheduler to run checks.
Tests of any domain import these (a monitor, a status page, running due checks)."""

from __future__ import annotations

import contextlib

from django.utils import timezone
from django_tenants.utils import schema_context

from apps.monitoring import scheduler, services
from apps.monitoring.schedule.models import CheckSchedule


@contextlib.contextmanager
def in_tenant(tenant):
    with schema_context(tenant.schema_name):
        yield


def create(tenant, **fields):
    with in_tenant(tenant):
        return services.monitor_create(tenant=tenant, actor=services.SYSTEM, **fields)


def make_due(*monitors) -> None:
    CheckSchedule.objects.filter(monitor_id__in=[m.pk for m in monitors]).update(
        next_run_at=timezone.now()
    )


def run_checks(**kwargs) -> dict:
    """The real scheduler, until nothing is due and nothing is in flight."""
    return scheduler.run_due(budget_s=kwargs.pop("budget_s", 15), idle_exit=True, **kwargs)


def reload(tenant, monitor):
    with in_tenant(tenant):
        monitor.refresh_from_db()
    return monitor


def check_once(tenant, monitor):
    make_due(monitor)
    run_checks()
    return reload(tenant, monitor)


def make_page(tenant, monitors=(), **fields):
    fields.setdefault("slug", "acme")
    fields.setdefault("title", "Acme status")
    with in_tenant(tenant):
        return services.status_page_create(
            tenant=tenant, actor=services.SYSTEM, monitor_ids=[m.pk for m in monitors], **fields
        )
