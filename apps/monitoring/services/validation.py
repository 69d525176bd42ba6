"""Validation of monitor input (kind, target, interval, timeout, keyword, JSON field, URL
credentials) and the public-schema schedule row each monitor keeps in step; the heartbeat
deadline."""

from __future__ import annotations

import contextlib
import datetime as dt
import re

from django.conf import settings
from django.utils import timezone

from apps.core import crypto
from apps.core.net import http_url_parts
from apps.core.platform_config import config_get
from apps.core.problems import InvalidInput

from .. import url_credentials
from ..models import HTTP_FIELDS, SOCKET_FIELDS, Monitor, MonitorKind, MonitorStatus
from ..schedule.models import CheckSchedule

HEARTBEAT_FIELDS = ("period_s", "grace_s")
COMMON_FIELDS = ["name", "interval_s", "timeout_s", "failures_before_down", "successes_before_up"]
EDITABLE = {
    MonitorKind.HTTP: (*COMMON_FIELDS, *HTTP_FIELDS),
    MonitorKind.TCP: (*COMMON_FIELDS, "host", "port"),
    MonitorKind.TLS: (*COMMON_FIELDS, *SOCKET_FIELDS),
    MonitorKind.HEARTBEAT: ("name", "failures_before_down", "successes_before_up",
                            *HEARTBEAT_FIELDS),
}  # fmt: skip


# A status code or a range of them, in ASCII digits (str.isdigit() is true for "²00" too).
STATUS_RANGE = re.compile(r"[0-9]{3}(-[0-9]{3})?")


def _validate(monitor: Monitor) -> None:
    """Kind-specific rules a serializer cannot see alone; raises InvalidInput."""
    if monitor.kind == MonitorKind.HTTP:
        if http_url_parts(monitor.url or "") is None:
            raise InvalidInput("An http(s):// URL with a host is required.", field="url")
        for item in monitor.expected_status or []:
            low, _, high = str(item).partition("-")
            if not STATUS_RANGE.fullmatch(str(item)) or not (
                100 <= int(low) <= int(high or low) <= 599
            ):
                raise InvalidInput(
                    f"{item!r} is not a status code or range like 200-299.",
                    field="expected_status",
                )
        if monitor.json_operator != "exists" and monitor.json_path and monitor.json_value == "":
            raise InvalidInput(
                "json_value is required with this json_operator.", field="json_value"
            )
    elif monitor.kind in (MonitorKind.TCP, MonitorKind.TLS):
        if not monitor.host:
            raise InvalidInput("A host is required.", field="host")
        if monitor.kind == MonitorKind.TLS and not monitor.port:
            monitor.port = 443
        if not monitor.port or not 1 <= monitor.port <= 65535:
            raise InvalidInput("A port between 1 and 65535 is required.", field="port")
    elif monitor.kind == MonitorKind.HEARTBEAT:
        if not monitor.period_s or monitor.period_s < 60:
            raise InvalidInput("period_s of at least 60 is required.", field="period_s")
        if monitor.grace_s is None:
            monitor.grace_s = 3600 if monitor.period_s >= 3600 else 300
        if monitor.grace_s < 10:
            raise InvalidInput("grace_s must be at least 10.", field="grace_s")
        monitor.interval_s = monitor.period_s
    if monitor.kind != MonitorKind.HEARTBEAT:
        minimum = config_get("monitoring.min_interval_s")
        if monitor.interval_s < minimum:
            raise InvalidInput(f"interval_s must be at least {minimum}.", field="interval_s")
        if not 1 <= monitor.timeout_s <= min(settings.MONITORING_MAX_TIMEOUT_S, monitor.interval_s):
            raise InvalidInput(
                "timeout_s must be between 1 and the interval (at most "
                f"{settings.MONITORING_MAX_TIMEOUT_S}).",
                field="timeout_s",
            )


def _url_fields(url: str, monitor: Monitor | None = None) -> dict[str, str]:
    """`url` as given by the caller, as columns: the URL without its Basic credentials, and
    those encrypted (url_credentials.py). On an update (`monitor` given) the masked form sent
    back unchanged keeps the stored credentials; any other URL replaces them (a URL without
    credentials drops them). The mask in any other URL is refused, so credentials are never
    carried over to another host or path."""
    if monitor is not None and url == monitor.url_masked:
        return {"url": monitor.url, "url_credentials_encrypted": monitor.url_credentials_encrypted}
    bare, userinfo = url_credentials.split(url)
    if userinfo == url_credentials.MASK:
        raise InvalidInput(
            "The URL holds masked credentials (***@): send the credentials themselves, or the "
            "monitor's masked URL unchanged to keep them.",
            field="url",
        )
    token = monitor.url_credentials_encrypted if monitor is not None else ""
    with contextlib.suppress(crypto.DecryptionError):
        if userinfo and token and crypto.decrypt(token) == userinfo:
            return {"url": bare, "url_credentials_encrypted": token}  # the same: no new token
    return {"url": bare, "url_credentials_encrypted": crypto.encrypt(userinfo) if userinfo else ""}


def _schedule_sync(monitor: Monitor, tenant, *, run_now: bool = False) -> None:
    """Write the monitor's row in the public schedule index (not due while paused)."""
    now = timezone.now()
    if monitor.status == MonitorStatus.PAUSED:
        next_run_at = None  # the row stays, so pings to a paused heartbeat still find it
    elif monitor.kind == MonitorKind.HEARTBEAT:
        next_run_at = heartbeat_deadline(monitor)
    else:
        next_run_at = now
    fields = {
        "tenant_id": tenant.pk,
        "kind": monitor.kind,
        "interval_s": monitor.interval_s,
        "ping_token": monitor.ping_token,
    }
    row = CheckSchedule.objects.filter(monitor_id=monitor.pk).first()
    if row is None:
        CheckSchedule.objects.create(monitor_id=monitor.pk, next_run_at=next_run_at, **fields)
        return
    if not run_now and next_run_at and monitor.kind != MonitorKind.HEARTBEAT and row.next_run_at:
        next_run_at = min(row.next_run_at, now + dt.timedelta(seconds=monitor.interval_s))
    CheckSchedule.objects.filter(pk=row.pk).update(next_run_at=next_run_at, **fields)


def heartbeat_deadline(monitor: Monitor) -> dt.datetime | None:
    """When a heartbeat monitor is late: a started run gets `grace`, otherwise the last ping
    gets `period + grace`. Never pinged: never late (like Healthchecks' "new")."""
    grace = dt.timedelta(seconds=monitor.grace_s or 0)
    if monitor.last_start_at and (
        monitor.last_ping_at is None or monitor.last_start_at > monitor.last_ping_at
    ):
        return monitor.last_start_at + grace
    if monitor.last_ping_at is None:
        return None
    return monitor.last_ping_at + dt.timedelta(seconds=monitor.period_s or 0) + grace
