"""Alert transports: email, generic webhook, Slack-compatible webhook, found by channel kind in
TRANSPORTS. Each raises TransportError(permanent=…); post_json() does bounded retries with a
time cap and goes through the SSRF guard (apps.core.net)."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from apps.core import crypto
from apps.core.net import BlockedTarget, guarded_client

from . import platform_alerts
from .models import AlertChannel, AlertLog

RETRIES = 3
TIME_CAP_S = 20.0
TIMEOUT_S = 10.0


class TransportError(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


def mask_url(url: str) -> str:
    """What may be shown of a webhook URL: scheme, host and its last four characters."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}/…{url[-4:]}"


def channel_url(channel: AlertChannel) -> str:
    return crypto.decrypt(channel.secret_encrypted) if channel.secret_encrypted else ""


def post_json(url: str, payload: dict, *, retries: int = RETRIES) -> None:
    if not url:
        raise TransportError("No URL configured.", permanent=True)
    deadline = time.monotonic() + TIME_CAP_S
    error = TransportError("not sent")
    with guarded_client(timeout=TIMEOUT_S) as client:
        for attempt in range(retries):
            try:
                response = client.post(url, json=payload)
            except BlockedTarget as exc:
                raise TransportError(str(exc), permanent=True) from exc
            except httpx.HTTPError as exc:
                error = TransportError(f"{type(exc).__name__}: {exc}")
            else:
                if response.is_success:
                    return
                permanent = 400 <= response.status_code < 500 and response.status_code != 429
                error = TransportError(f"HTTP {response.status_code}", permanent=permanent)
                if permanent:
                    raise error
            if attempt + 1 == retries or time.monotonic() + 2**attempt > deadline:
                break
            time.sleep(0.5 * 2**attempt)
    raise error


def _text(log: AlertLog) -> tuple[str, str]:
    if log.event == "alert.test":
        return "Quayside test notification", "This channel works."
    if log.event in platform_alerts.HANDLED:
        return platform_alerts.text(log)
    monitor = log.monitor
    name = monitor.name if monitor else "A monitor"
    if log.event == "monitor.down":
        return f"{name} is DOWN", (monitor.last_error if monitor else "")
    return f"{name} is UP", ""


def _payload(log: AlertLog, tenant) -> dict:
    return {
        "event": log.event,
        "tenant": getattr(tenant, "slug", ""),
        "monitor": (
            {"id": str(log.monitor.pk), "name": log.monitor.name, "status": log.monitor.status}
            if log.monitor
            else None
        ),
        "incident_id": str(log.incident_id) if log.incident_id else None,
        **({"detail": log.detail} if log.detail else {}),
        "sent_at": timezone.now().isoformat(),
    }


def send_email(log: AlertLog, tenant, *, retries: int = RETRIES) -> None:
    recipients = list(log.channel.config.get("to") or [])
    if not recipients:
        raise TransportError("No recipients configured.", permanent=True)
    subject, body = _text(log)
    send_mail(f"[Quayside] {subject}", body or subject, settings.DEFAULT_FROM_EMAIL, recipients)


def send_webhook(log: AlertLog, tenant, *, retries: int = RETRIES) -> None:
    post_json(channel_url(log.channel), _payload(log, tenant), retries=retries)


def send_slack(log: AlertLog, tenant, *, retries: int = RETRIES) -> None:
    subject, body = _text(log)
    text = f"*{subject}*\n{body}".strip()
    post_json(channel_url(log.channel), {"text": text}, retries=retries)


TRANSPORTS = {"email": send_email, "webhook": send_webhook, "slack": send_slack}


def deliver(log: AlertLog, *, tenant, retries: int = RETRIES) -> AlertLog:
    """Send one logged alert and record the outcome on the log (idempotent: a sent log is
    not sent again)."""
    if log.ok or log.skipped:
        return log
    started = time.perf_counter()
    try:
        TRANSPORTS[log.channel.kind](log, tenant, retries=retries)
    except TransportError as exc:
        log.ok, log.error = False, exc.message[:500]
    except Exception as exc:
        log.ok, log.error = False, f"{type(exc).__name__}: {exc}"[:500]
    else:
        log.ok, log.error = True, ""
    log.duration_ms = int((time.perf_counter() - started) * 1000)
    log.save(update_fields=["ok", "error", "duration_ms"])
    return log
