"""Heartbeats: a ping from the monitored job (success, start, fail), and the outcome of a late
heartbeat."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from apps.core.problems import ApplicationError

from ..checks.base import Outcome
from ..models import CheckResult, Monitor, MonitorKind, MonitorStatus, ResultSource
from ..schedule.models import CheckSchedule
from .results import ResultItem, results_apply
from .validation import heartbeat_deadline


class PingNotFound(ApplicationError):
    status = 404
    slug = "not-found"


def heartbeat_ping(*, tenant, monitor_id, event: str, now: dt.datetime | None = None) -> str:
    """A ping from the monitored job: `success`, `start` or `fail`. Returns the monitor's status
    afterwards. Success/fail are verdicts (through results_apply); start only opens the run's
    grace period and measures its duration."""
    now = now or timezone.now()
    with transaction.atomic():
        monitor = Monitor.objects.select_for_update().filter(pk=monitor_id).first()
        if monitor is None or monitor.kind != MonitorKind.HEARTBEAT:
            raise PingNotFound("No such check.")
        if monitor.status == MonitorStatus.PAUSED:
            return monitor.status
        if event == "start":
            monitor.last_start_at = now
            monitor.save(update_fields=["last_start_at"])
            CheckResult.objects.create(
                monitor=monitor, checked_at=now, ok=True, source=ResultSource.PING_START
            )
        else:
            duration_ms = None
            if monitor.last_start_at and (
                monitor.last_ping_at is None or monitor.last_start_at > monitor.last_ping_at
            ):
                duration_ms = int((now - monitor.last_start_at).total_seconds() * 1000)
            monitor.last_ping_at = now
            ok = event == "success"
            outcome = Outcome(
                ok=ok, response_ms=duration_ms, error="" if ok else "The job reported a failure."
            )
            source = ResultSource.PING if ok else ResultSource.PING_FAIL
            results_apply(
                tenant=tenant,
                items=[ResultItem(monitor.pk, outcome, now, source)],
                monitors={monitor.pk: monitor},
            )
        CheckSchedule.objects.filter(monitor_id=monitor.pk).update(
            next_run_at=heartbeat_deadline(monitor)
        )
        return monitor.status


def heartbeat_late_outcome(monitor: Monitor, now: dt.datetime) -> Outcome | None:
    """The scheduler's check of a heartbeat monitor: a failure when its deadline has passed,
    None when a ping arrived meanwhile (nothing to record)."""
    deadline = heartbeat_deadline(monitor)
    if deadline is None or now < deadline:
        return None
    if monitor.last_start_at and deadline == monitor.last_start_at + dt.timedelta(
        seconds=monitor.grace_s or 0
    ):
        error = f"Started {int((now - monitor.last_start_at).total_seconds())} s ago, no finish."
    else:
        since = int((now - monitor.last_ping_at).total_seconds())
        error = f"No ping for {since} s (period {monitor.period_s} s + grace {monitor.grace_s} s)."
    return Outcome(ok=False, error=error)
