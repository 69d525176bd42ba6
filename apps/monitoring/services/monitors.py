"""Monitors: create, update, pause, resume, delete; and the monitors of deployed apps that
apps.monitoring.app_monitors keeps."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core.actor import SYSTEM, Actor
from apps.core.audit import audit_as
from apps.core.locks import advisory_xact_lock
from apps.core.model_update import model_update
from apps.core.problems import ApplicationError, InvalidInput, QuotaExceeded
from apps.core.versioning import version_bump, version_lock
from apps.tenants.selectors import tenant_limit

from ..models import (
    AlertChannel,
    MaintenanceWindow,
    Monitor,
    MonitorKind,
    MonitorStatus,
    new_ping_token,
)
from ..schedule.models import CheckSchedule
from .results import _account_until, _maintenance_for
from .status_pages import _status_pages_forget
from .validation import EDITABLE, _schedule_sync, _url_fields, _validate

# --- Monitors -------------------------------------------------------------------------------


def _channels(channel_ids) -> list[AlertChannel]:
    """The tenant's channels with these ids (this schema holds only its own); an unknown id is
    a validation error on `channel_ids`."""
    ids = list(dict.fromkeys(channel_ids))
    channels = list(AlertChannel.objects.filter(pk__in=ids))
    if len(channels) != len(ids):
        missing = sorted({str(i) for i in ids} - {str(c.pk) for c in channels})
        raise InvalidInput(f"No such alert channel: {missing[0]}.", field="channel_ids")
    return channels


@transaction.atomic
def monitor_create(
    *, tenant, actor: Actor, kind: str, channel_ids: list | None = None, **fields
) -> Monitor:
    limit = tenant_limit(tenant, "monitors")
    if limit is not None:  # two creates at once must not both see the last free place
        advisory_xact_lock(f"quota:{tenant.pk}:monitors")
    used = Monitor.objects.count() if limit is not None else 0
    if limit is not None and used >= limit:
        raise QuotaExceeded(
            f"Your plan allows {limit} monitors.",
            extra={"limit": "monitors", "allowed": limit, "used": used},
        )
    allowed = set(EDITABLE[MonitorKind(kind)])
    unknown = sorted(
        k
        for k, v in fields.items()
        if k not in allowed and v not in (None, "", Monitor._meta.get_field(k).default)
    )
    if unknown:
        raise InvalidInput(f"{unknown[0]} does not apply to {kind} monitors.", field=unknown[0])
    values = {k: v for k, v in fields.items() if k in allowed and v is not None}
    if values.get("url"):
        values.update(_url_fields(values["url"]))
    values.setdefault("interval_s", settings.MONITORING_DEFAULT_INTERVAL_S)
    monitor = Monitor(kind=kind, created_by_id=actor.user_id, **values)
    if kind == MonitorKind.HEARTBEAT:
        monitor.ping_token = new_ping_token()
    _validate(monitor)
    monitor.status_changed_at = timezone.now()
    channels = _channels(channel_ids) if channel_ids else []
    monitor.save()
    if channels:
        monitor.channels.set(channels)
    _schedule_sync(monitor, tenant, run_now=True)
    audit_as(actor, "monitor.created", tenant=tenant, target=monitor, kind=kind,
             name=monitor.name)  # fmt: skip
    return monitor


@transaction.atomic
def monitor_update(
    *,
    monitor: Monitor,
    tenant,
    actor: Actor,
    channel_ids: list | None = None,
    expected_version: int | None = None,
    **changes,
) -> Monitor:
    """`expected_version`: the version the caller read (stale: 409 version-conflict)."""
    version_lock(monitor, expected=expected_version)
    allowed = set(EDITABLE[MonitorKind(monitor.kind)])
    unknown = sorted(k for k in changes if k not in allowed)
    if unknown:
        raise InvalidInput(
            f"{unknown[0]} does not apply to {monitor.kind} monitors.", field=unknown[0]
        )
    if isinstance(changes.get("url"), str):
        changes.update(_url_fields(changes["url"], monitor))
    changed = model_update(monitor, changes.keys(), changes)
    if channel_ids is not None:
        channels = _channels(channel_ids)
        if {c.pk for c in channels} != {c.pk for c in monitor.channels.all()}:
            monitor.channels.set(channels)
            changed.append("channel_ids")
    if not changed:
        return monitor
    if changed != ["channel_ids"]:
        _validate(monitor)
        monitor.save()
        _schedule_sync(monitor, tenant)
    version_bump(monitor)
    fields = {"url" if k == "url_credentials_encrypted" else k for k in changed}
    audit_as(actor, "monitor.updated", tenant=tenant, target=monitor, fields=sorted(fields))
    if "name" in changed:
        _status_pages_forget()
    return monitor


@transaction.atomic
def monitor_delete(
    *, monitor: Monitor, tenant, actor: Actor, expected_version: int | None = None
) -> None:
    version_lock(monitor, expected=expected_version)
    CheckSchedule.objects.filter(monitor_id=monitor.pk).delete()
    # A window with no monitors covers every monitor: one that covered only this monitor goes
    # with it, rather than silently widening to the whole tenant.
    covers = MaintenanceWindow.monitors.through.objects
    others = covers.exclude(monitor_id=monitor.pk).values("maintenancewindow_id")
    MaintenanceWindow.objects.filter(monitors=monitor).exclude(pk__in=others).delete()
    audit_as(actor, "monitor.deleted", tenant=tenant, target=monitor, name=monitor.name)
    monitor.delete()
    _status_pages_forget()


def _lock(monitor: Monitor) -> Monitor:
    return Monitor.objects.select_for_update().get(pk=monitor.pk)


@transaction.atomic
def monitor_pause(*, monitor: Monitor, tenant, actor: Actor) -> Monitor:
    monitor = _lock(monitor)
    if monitor.status == MonitorStatus.PAUSED:
        return monitor
    now = timezone.now()
    since = monitor.accounted_at or now
    _account_until(monitor, now, _maintenance_for([monitor.pk], since, now))
    _set_status(monitor, MonitorStatus.PAUSED, now)
    monitor.save()
    _schedule_sync(monitor, tenant)
    audit_as(actor, "monitor.paused", tenant=tenant, target=monitor)
    return monitor


@transaction.atomic
def monitor_resume(*, monitor: Monitor, tenant, actor: Actor) -> Monitor:
    monitor = _lock(monitor)
    if monitor.status != MonitorStatus.PAUSED:
        return monitor
    now = timezone.now()
    _set_status(monitor, MonitorStatus.PENDING, now)
    monitor.accounted_at = now
    if monitor.kind == MonitorKind.HEARTBEAT:
        # Pings were ignored while paused: like a new check, it waits for the job's next ping
        # instead of being late at once by a ping from before the pause.
        monitor.last_ping_at = None
        monitor.last_start_at = None
    monitor.save()
    _schedule_sync(monitor, tenant, run_now=True)
    audit_as(actor, "monitor.resumed", tenant=tenant, target=monitor)
    return monitor


def _set_status(monitor: Monitor, status: str, now: dt.datetime) -> None:
    monitor.status = status
    monitor.status_changed_at = now
    monitor.fail_streak = 0
    monitor.ok_streak = 0


# --- Monitors of deployed apps (kept by apps.monitoring.app_monitors) -----------------------


def app_monitor_ensure(*, tenant, app_id, name: str, url: str) -> Monitor | None:
    """The HTTP monitor of a deployed app: created on its first successful deployment, its URL
    kept current. None when the tenant's plan has no room for another monitor (not an error:
    the app runs, unmonitored; the tenant is told once in the audit log)."""
    monitor = Monitor.objects.filter(app_id=app_id).first()
    if monitor is not None:
        if monitor.url != url:
            monitor_update(monitor=monitor, tenant=tenant, actor=SYSTEM, url=url)
        return monitor
    try:
        with transaction.atomic():
            monitor = monitor_create(
                tenant=tenant, actor=SYSTEM, kind=MonitorKind.HTTP, name=name[:100], url=url
            )
    except ApplicationError as exc:
        audit_as(SYSTEM, "monitor.app_monitor_skipped", tenant=tenant,
                 app_id=str(app_id), reason=exc.detail)  # fmt: skip
        return None
    Monitor.objects.filter(pk=monitor.pk).update(app_id=app_id)
    monitor.app_id = app_id
    return monitor


def app_monitor_remove(*, tenant, app_id) -> None:
    monitor = Monitor.objects.filter(app_id=app_id).first()
    if monitor is not None:
        monitor_delete(monitor=monitor, tenant=tenant, actor=SYSTEM)
