"""Standard Webhooks secrets, message ids and envelopes (docs/webhooks.md, "What you receive").
Pure functions: no database."""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import uuid
from typing import Any

from apps.core import crypto
from apps.core.events import event_type_matches

from .models import WebhookEndpoint

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix)
SECRET_BYTES = 32


def secret_generate() -> str:
    """`whsec_` + base64 of 32 random bytes (the Standard Webhooks secret format)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signing_secrets(endpoint: WebhookEndpoint, now: dt.datetime) -> list[str]:
    """The secrets that sign a request now: the current one, and the previous one while its
    rotation overlap lasts."""
    out = [crypto.decrypt(endpoint.secret_encrypted)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted and expires is not None and expires > now:
        out.append(crypto.decrypt(endpoint.previous_secret_encrypted))
    return out


def msg_id_new() -> str:
    return f"msg_{uuid.uuid4().hex}"


def iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def envelope(*, type: str, timestamp: dt.datetime, data: dict[str, Any]) -> str:
    """The body every endpoint receives, serialised once and stored: the same bytes on every
    attempt (the signature covers them)."""
    doc = {"type": type, "timestamp": iso(timestamp), "data": data}
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False, default=str)


def endpoint_wants(endpoint: WebhookEndpoint, event_type: str) -> bool:
    patterns = endpoint.event_types or []
    return not patterns or any(event_type_matches(p, event_type) for p in patterns)
