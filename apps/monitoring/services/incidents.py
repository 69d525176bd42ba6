"""Incidents and alerts: a state change opens or resolves an incident, tells the tenant's
owner and admins, and queues alerts to the channels unless a maintenance window or silence
holds them."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections import defaultdict

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.actor import Actor
from apps.core.audit import audit_as, audit_record
from apps.core.inbox import inbox_send
from apps.core.problems import Conflict, InvalidInput
from apps.tenants.models import Membership, Role

from .. import events
from ..models import (
    AlertChannel,
    AlertLog,
    Incident,
    IncidentStatus,
    Monitor,
    MonitorStatus,
    Silence,
)
from .status_pages import _status_pages_forget

logger = logging.getLogger(__name__)


def _in_maintenance(windows: list, when: dt.datetime) -> bool:
    return any(start <= when < end for start, end in windows)


def _silences_for(transitions: list) -> dict:
    """{monitor_id | None: [(start, end)]} of silences around these transitions (one query,
    and none when nothing changed state); None = every monitor."""
    out: dict = defaultdict(list)
    if not transitions:
        return out
    times = [when for _, _, _, when in transitions]
    ids = [monitor.pk for monitor, _, _, _ in transitions]
    rows = Silence.objects.filter(
        Q(monitor_id__in=ids) | Q(monitor__isnull=True),
        starts_at__lte=max(times),
        ends_at__gt=min(times),
    ).values_list("monitor_id", "starts_at", "ends_at")
    for monitor_id, start, end in rows:
        out[monitor_id].append((start, end))
    return out


def _transition(
    *, tenant, monitor: Monitor, old: str, new: str, when, maintenance, silences=()
) -> None:
    """Down opens an incident; up resolves the open one. Both are audited, told to the
    tenant's owners and admins, and alerted on the monitor's channels (unless in maintenance
    or silenced: then the alert is logged as skipped)."""
    if new == MonitorStatus.DOWN:
        incident, created = Incident.objects.get_or_create(
            monitor=monitor,
            status=IncidentStatus.OPEN,
            defaults={"started_at": when, "cause": monitor.last_error},
        )
        if not created:
            return
        event, title = "monitor.down", f"{monitor.name} is down"
        body = monitor.last_error
        severity = "warning"
    elif new == MonitorStatus.UP:  # from down, or from pending after a pause while down
        incident = Incident.objects.filter(monitor=monitor, status=IncidentStatus.OPEN).first()
        if incident is None:
            return
        incident.status = IncidentStatus.RESOLVED
        incident.resolved_at = when
        incident.duration_s = max(0, int((when - incident.started_at).total_seconds()))
        incident.save(update_fields=["status", "resolved_at", "duration_s", "updated_at"])
        event, title = "monitor.up", f"{monitor.name} is up again"
        body = f"Down for {_duration(incident.duration_s)}."
        severity = "info"
    else:
        return
    audit_record(
        action=event,
        tenant=tenant,
        target=monitor,
        severity=severity,
        metadata={"incident_id": str(incident.pk), "error": monitor.last_error[:200]},
    )
    events.monitor_transition_events(
        tenant=tenant, monitor=monitor, incident=incident, down=new == MonitorStatus.DOWN, when=when
    )
    data = {"monitor_id": str(monitor.pk), "incident_id": str(incident.pk)}
    recipients = Membership.objects.filter(
        tenant_id=tenant.pk, role__in=[Role.OWNER, Role.ADMIN]
    ).select_related("user")
    for membership in recipients:
        inbox_send(user=membership.user, kind=event, title=title, body=body, tenant=tenant,
                   data=data)  # fmt: skip
    skipped = ""
    if _in_maintenance(maintenance, when):
        skipped = "maintenance"
    elif _in_maintenance(silences, when):
        skipped = "silenced"
    _alerts_queue(monitor=monitor, incident=incident, event=event, skipped=skipped)


def _duration(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {secs} s"


def _alerts_queue(*, monitor: Monitor, incident: Incident, event: str, skipped: str) -> None:
    channels = list(monitor.channels.filter(enabled=True))
    logs = AlertLog.objects.bulk_create(
        [
            AlertLog(channel=channel, monitor=monitor, incident=incident, event=event,
                     skipped=skipped)
            for channel in channels
        ]
    )  # fmt: skip
    pending = [log.pk for log in logs if not log.skipped]
    if pending:
        transaction.on_commit(functools.partial(_alerts_enqueue, pending))


def _alerts_enqueue(log_ids: list) -> None:
    """After commit: the results are written whatever the broker says; an alert it would not
    take stays in the alert log unsent (no duration, no error) and is logged here."""
    from ..tasks import alerts_send

    try:
        alerts_send.delay(log_ids)
    except Exception:
        logger.exception("alerts: could not enqueue %d alert(s): %s", len(log_ids), log_ids)


def alert_channel_test(*, channel: AlertChannel, tenant, actor: Actor) -> AlertLog:
    """Send a test notification now, through the channel, in one attempt (the caller is
    waiting for the answer); the log says how it went. Not atomic on purpose: the log and the
    audit event are written whether or not the receiver answered."""
    from ..alerts import deliver

    log = AlertLog.objects.create(channel=channel, event="alert.test")
    deliver(log, tenant=tenant, retries=1)
    audit_as(actor, "alert_channel.tested", tenant=tenant, target=channel, ok=log.ok,
             error=log.error[:200])  # fmt: skip
    return log


# --- Incidents handled by people -------------------------------------------------------------

NOTE_MAX = 2000


def _note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise InvalidInput(f"A note is at most {NOTE_MAX} characters.", field="note")
    return note


def _incident_locked(incident: Incident) -> Incident:
    return Incident.objects.select_for_update().select_related("monitor").get(pk=incident.pk)


@transaction.atomic
def incident_acknowledge(*, incident: Incident, tenant, actor: Actor, note: str = "") -> Incident:
    """Someone is on it: recorded once (who, when, the note); a resolved incident is refused."""
    note = _note(note)
    incident = _incident_locked(incident)
    if incident.status != IncidentStatus.OPEN:
        raise Conflict("This incident is resolved already.")
    if incident.acknowledged_at is not None:
        raise Conflict("This incident is acknowledged already.")
    incident.acknowledged_at = timezone.now()
    incident.acknowledged_by_id = actor.user_id
    incident.acknowledge_note = note
    incident.save(update_fields=["acknowledged_at", "acknowledged_by_id", "acknowledge_note",
                                 "updated_at"])  # fmt: skip
    audit_as(actor, "incident.acknowledged", tenant=tenant, target=incident,
             monitor_id=str(incident.monitor_id), note=note[:200])  # fmt: skip
    return incident


@transaction.atomic
def incident_resolve(*, incident: Incident, tenant, actor: Actor, note: str) -> Incident:
    """Closed by a person, with a note saying why (a fix deployed, a false alarm). The monitor
    keeps its state: while it is still down no new incident opens; its next down after an up
    opens one, as usual."""
    note = _note(note)
    if not note:
        raise InvalidInput("Say how it was resolved.", field="note")
    incident = _incident_locked(incident)
    if incident.status != IncidentStatus.OPEN:
        raise Conflict("This incident is resolved already.")
    now = timezone.now()
    incident.status = IncidentStatus.RESOLVED
    incident.resolved_at = now
    incident.duration_s = max(0, int((now - incident.started_at).total_seconds()))
    incident.resolved_by_id = actor.user_id
    incident.resolve_note = note
    incident.save(update_fields=["status", "resolved_at", "duration_s", "resolved_by_id",
                                 "resolve_note", "updated_at"])  # fmt: skip
    audit_as(actor, "incident.resolved", tenant=tenant, target=incident,
             monitor_id=str(incident.monitor_id), note=note[:200])  # fmt: skip
    _status_pages_forget()
    return incident
