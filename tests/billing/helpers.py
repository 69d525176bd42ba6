"""Helpers of the billing tests: the fake Stripe's address and signed webhook deliveries.

The port is chosen, and the environment set, when this module is first imported (by conftest,
at collection), so a Celery worker process started later by any test inherits the settings."""

from __future__ import annotations

import json
import os
import socket
import time
import uuid

import stripe


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


STRIPE_PORT = _free_port()
STRIPE_ENV = {
    "STRIPE_SECRET_KEY": "sk_test_" + "quaysidetestkey0000000000",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_" + "quaysidetestkey0000000000",
    "STRIPE_WEBHOOK_SECRET": "whsec_quaysidetestsecret",
    "STRIPE_API_BASE": f"http://127.0.0.1:{STRIPE_PORT}",
    "STRIPE_MAX_NETWORK_RETRIES": "0",
    "BILLING_WEBHOOK_RETRY_BASE_S": "0.2",
}
os.environ.update(STRIPE_ENV)


# --- Webhook deliveries ---------------------------------------------------------------------


def stripe_event(
    event_type: str, obj: dict, *, created: int | None = None, event_id: str | None = None
) -> dict:
    from django.conf import settings

    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "api_version": settings.STRIPE_API_VERSION,
        "created": created or int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def sign(body: str, *, secret: str | None = None, timestamp: int | None = None) -> str:
    """Stripe's scheme: t=<unix time>,v1=HMAC-SHA256(secret, "<t>.<body>")."""
    return stripe.WebhookSignature.generate_signature_header(
        body, secret or STRIPE_ENV["STRIPE_WEBHOOK_SECRET"], timestamp=timestamp
    )


def deliver(client, event: dict, **sign_options):
    body = json.dumps(event)
    return client.post(
        "/webhooks/stripe/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(body, **sign_options),
    )
