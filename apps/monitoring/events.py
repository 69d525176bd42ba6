"""Outbox events of the monitoring app (monitor.down|up, incident.opened|resolved)."""

from __future__ import annotations

from typing import Any

from apps.core.outbox import event_emit
from apps.core.timestamps import api_time

from .models import Incident, Monitor


def monitor_data(monitor: Monitor) -> dict[str, Any]:
    # The URL with its credentials masked: payloads go to tenants' webhook receivers.
    target = monitor.url_masked or (f"{monitor.host}:{monitor.port}" if monitor.host else "")
    return {
        "id": str(monitor.pk),
        "name": monitor.name,
        "kind": monitor.kind,
        "target": target,
        "status": monitor.status,
        "since": api_time(monitor.status_changed_at),
        "last_checked_at": api_time(monitor.last_checked_at),
        "last_response_ms": monitor.last_response_ms,
        "last_error": monitor.last_error,
    }


def incident_data(incident: Incident, monitor: Monitor) -> dict[str, Any]:
    return {
        "id": str(incident.pk),
        "monitor": {"id": str(monitor.pk), "name": monitor.name, "kind": monitor.kind},
        "status": incident.status,
        "started_at": api_time(incident.started_at),
        "resolved_at": api_time(incident.resolved_at),
        "duration_s": incident.duration_s,
        "cause": incident.cause,
        "created_at": api_time(incident.created_at),
        "updated_at": api_time(incident.updated_at),
    }


def monitor_transition_events(
    *, tenant, monitor: Monitor, incident: Incident, down: bool, when
) -> None:
    """`when` and the new status are given: a batch of results may have moved the monitor on
    since this transition."""
    incident_payload = incident_data(incident, monitor)
    state = {"status": "down" if down else "up", "since": api_time(when)}
    event_emit(
        type="monitor.down" if down else "monitor.up",
        tenant=tenant,
        data={**monitor_data(monitor), **state, "incident": incident_payload},
    )
    event_emit(
        type="incident.opened" if down else "incident.resolved",
        tenant=tenant,
        data=incident_payload,
    )
