"""Alerts about the platform's own work for a tenant, not about a monitor: today a failed
add-on backup (`addon.backup_failed`, ARCHITECTURE.md §3a: addons never import monitoring, so
the event comes through core's outbox; settings.OUTBOX_CONSUMERS names `outbox_consume`).

Routing: the alert goes where the app's alerts go, the enabled channels of the app's own
monitor (every deployed app has one, app_monitors.py); an app without one, or whose monitor
routes nowhere, alerts every enabled channel of the tenant, so a failed backup is never
silent while the tenant has a channel. Silences and maintenance windows are about monitors and
do not hold these back. Each alert is an AlertLog row (event, detail), sent by the same task
and channels as monitor alerts, and shown in the alert log."""

from __future__ import annotations

import functools

from django.db import transaction

from apps.core.models import OutboxEvent
from apps.tenants.events import events_in_each_tenant
from apps.tenants.models import Tenant

from .models import AlertChannel, AlertLog, Monitor

HANDLED = ("addon.backup_failed",)


def text(log: AlertLog) -> tuple[str, str]:
    """The subject and body of a platform alert."""
    return "An add-on backup failed", log.detail


def _detail(data: dict) -> str:
    app = (data.get("app") or {}).get("name") or data.get("app_id") or "an app"
    addon = data.get("addon_name") or data.get("addon_id") or "an add-on"
    kind = f"{data['kind']} " if data.get("kind") else ""
    error = (data.get("error") or "").strip() or "no reason recorded"
    return f"The {kind}backup of add-on {addon} (app {app}) failed: {error}"[:500]


def _channels_for(app_id: str | None) -> list[AlertChannel]:
    monitor = Monitor.objects.filter(app_id=app_id).first() if app_id else None
    if monitor is not None:
        routed = list(monitor.channels.filter(enabled=True))
        if routed:
            return routed
    return list(AlertChannel.objects.filter(enabled=True))


def outbox_consume(events: list[OutboxEvent]) -> None:
    for tenant, handled in events_in_each_tenant(events, HANDLED):
        logs = [
            AlertLog(channel=channel, event=event.type, detail=_detail(event.data or {}))
            for event in handled
            for channel in _channels_for((event.data or {}).get("app_id"))
        ]
        made = AlertLog.objects.bulk_create(logs)
        if made:
            transaction.on_commit(functools.partial(_send, tenant.pk, [log.pk for log in made]))


def _send(tenant_id, log_ids: list) -> None:
    """After commit, in the tenant's schema: the same task that sends monitor alerts."""
    from django_tenants.utils import tenant_context

    from .services.incidents import _alerts_enqueue

    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is not None:
        with tenant_context(tenant):
            _alerts_enqueue(log_ids)
