"""Maintenance windows and silences, which hold back alerts for some or all monitors."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from apps.core.actor import Actor
from apps.core.audit import audit_as
from apps.core.model_update import model_update
from apps.core.problems import InvalidInput

from ..models import MaintenanceWindow, Monitor, Silence
from .status_pages import _status_pages_forget


def _monitors(monitor_ids, field: str = "monitor_ids") -> list[Monitor]:
    ids = list(dict.fromkeys(monitor_ids))
    monitors = list(Monitor.objects.filter(pk__in=ids).only("id"))
    if len(monitors) != len(ids):
        missing = sorted({str(i) for i in ids} - {str(m.pk) for m in monitors})
        raise InvalidInput(f"No such monitor: {missing[0]}.", field=field)
    return monitors


def _check_span(starts_at: dt.datetime, ends_at: dt.datetime) -> None:
    if ends_at <= starts_at:
        raise InvalidInput("ends_at must be after starts_at.", field="ends_at")


@transaction.atomic
def maintenance_window_create(
    *, tenant, actor: Actor, name: str, starts_at: dt.datetime, ends_at: dt.datetime,
    monitor_ids: list | None = None,
) -> MaintenanceWindow:  # fmt: skip
    """Alerts of the chosen monitors (none chosen: all) are skipped and uptime leaves the time
    out. Rollups already written are not rewritten: a window in the past changes nothing."""
    _check_span(starts_at, ends_at)
    monitors = _monitors(monitor_ids or [])
    window = MaintenanceWindow.objects.create(name=name, starts_at=starts_at, ends_at=ends_at)
    if monitors:
        window.monitors.set(monitors)
    audit_as(actor, "maintenance_window.created", tenant=tenant, target=window, name=name,
             starts_at=starts_at.isoformat(), ends_at=ends_at.isoformat(),
             monitors=[str(m.pk) for m in monitors])  # fmt: skip
    _status_pages_forget()
    return window


@transaction.atomic
def maintenance_window_update(
    *, window: MaintenanceWindow, tenant, actor: Actor, monitor_ids: list | None = None, **changes
) -> MaintenanceWindow:
    changed = model_update(window, ("name", "starts_at", "ends_at"), changes, refuse_others=True)
    _check_span(window.starts_at, window.ends_at)
    if monitor_ids is not None:
        monitors = _monitors(monitor_ids)
        if {m.pk for m in monitors} != {m.pk for m in window.monitors.all()}:
            window.monitors.set(monitors)
            changed.append("monitor_ids")
    if not changed:
        return window
    window.save()
    audit_as(actor, "maintenance_window.updated", tenant=tenant, target=window,
             fields=sorted(changed))  # fmt: skip
    _status_pages_forget()
    return window


@transaction.atomic
def maintenance_window_delete(*, window: MaintenanceWindow, tenant, actor: Actor) -> None:
    audit_as(actor, "maintenance_window.deleted", tenant=tenant, target=window,
             name=window.name)  # fmt: skip
    window.delete()
    _status_pages_forget()


@transaction.atomic
def silence_create(
    *, tenant, actor: Actor, ends_at: dt.datetime, monitor_id=None,
    starts_at: dt.datetime | None = None, reason: str = "",
) -> Silence:  # fmt: skip
    """Alerts of one monitor (or all) are logged as skipped="silenced" until `ends_at`; the
    time still counts for uptime (that is what maintenance windows are for)."""
    starts_at = starts_at or timezone.now()
    _check_span(starts_at, ends_at)
    if ends_at <= timezone.now():
        raise InvalidInput("ends_at must be in the future.", field="ends_at")
    monitor = _monitors([monitor_id], field="monitor_id")[0] if monitor_id else None
    silence = Silence.objects.create(monitor=monitor, starts_at=starts_at, ends_at=ends_at,
                                     reason=reason, created_by_id=actor.user_id)  # fmt: skip
    audit_as(actor, "silence.created", tenant=tenant, target=silence,
             monitor_id=str(monitor_id) if monitor_id else None, ends_at=ends_at.isoformat(),
             reason=reason[:200])  # fmt: skip
    return silence


@transaction.atomic
def silence_expire(*, silence: Silence, tenant, actor: Actor) -> Silence:
    """End a silence now (one not started yet ends before it starts); kept for the record."""
    now = timezone.now()
    if silence.ends_at <= now:
        return silence
    silence.ends_at = max(now, silence.starts_at)
    silence.save(update_fields=["ends_at", "updated_at"])
    audit_as(actor, "silence.expired", tenant=tenant, target=silence)
    return silence
