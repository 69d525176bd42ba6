"""POST /webhooks/stripe/: Stripe's event deliveries.

In order, and nothing else in the request: verify the `Stripe-Signature` header with Stripe's
scheme (HMAC-SHA256 of "<t>.<body>" under the endpoint secret, `t` within the tolerance), parse,
insert the raw event (unique by Stripe's event id: a duplicate delivery hits the constraint and
answers 200 without being processed again), and enqueue its processing once the row is
committed. Forged, stale or unparsable deliveries answer 400 and write nothing, and so do
signed events whose fields are not what Stripe sends (a `created` out of range, an `id` or `type`
that is not a string, NaN): storing them would fail, and Stripe would retry for days. Text
PostgreSQL cannot store (NUL, lone surrogates) is dropped from the stored copy."""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging

import stripe
from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from apps.core.problems import problem_response

from .models import EventStatus
from .stripe_events import HANDLERS, event_enqueue, object_customer

logger = logging.getLogger(__name__)


def _enqueue_after_commit(event_pk: int, customer_id: str) -> None:
    try:
        event_enqueue(event_pk, customer_id)
    except Exception:  # the broker is down: the event is stored, housekeeping enqueues it later
        logger.exception("Could not enqueue Stripe event %s; it stays pending", event_pk)


# One statement, one round trip: the unique index on stripe_event_id decides first delivery vs
# duplicate (no SELECT before), and in autocommit it commits by itself.
_INSERT = """
INSERT INTO billing_stripeevent (stripe_event_id, type, api_version, livemode, stripe_created,
    customer_id, object_id, payload, status, attempts, last_error, received_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, 0, %s, now())
ON CONFLICT (stripe_event_id) DO NOTHING
RETURNING id
"""


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON PostgreSQL stores")


def _clean(value):
    """`value` with NUL characters and lone surrogates (which jsonb and text refuse) removed."""
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = value.encode("utf-8", "ignore").decode("utf-8")
        return value
    if isinstance(value, dict):
        return {_clean(key): _clean(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clean(item) for item in value]
    return value


def stripe_event_parse(payload: bytes) -> tuple[dict, str, dt.datetime]:
    """A verified body as (event, text to store, created); ValueError when it is not a Stripe
    event this installation can store."""
    try:
        text = payload.decode("utf-8")
        data = json.loads(text, parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise ValueError("not UTF-8") from exc
    if not isinstance(data, dict) or not isinstance(data.get("data"), dict):
        raise ValueError("not an event")
    if not isinstance(data["data"].get("object"), dict):
        raise ValueError("no object")
    for field in ("id", "type"):
        if not isinstance(data.get(field), str) or not data[field]:
            raise ValueError(f"no {field}")
    created = data.get("created")
    if not isinstance(created, int) or isinstance(created, bool):
        raise ValueError("created is not a timestamp")
    try:
        created_at = dt.datetime.fromtimestamp(created, tz=dt.UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise ValueError("created is out of range") from exc
    cleaned = _clean(data)
    if cleaned != data:
        data, text = cleaned, json.dumps(cleaned)
    return data, text, created_at


def stripe_event_record(data: dict, raw: str, created_at: dt.datetime | None = None) -> int | None:
    """Store a verified event as received; its id when new, None for a duplicate. Processing
    is enqueued once the row is committed (at once in autocommit)."""
    obj = data["data"]["object"]
    status, note = EventStatus.PENDING, ""
    if data["type"] not in HANDLERS:
        status, note = EventStatus.IGNORED, "type not handled"
    elif data.get("api_version") and data["api_version"] != settings.STRIPE_API_VERSION:
        status = EventStatus.IGNORED
        note = f"API version {data['api_version']} is not the pinned {settings.STRIPE_API_VERSION}"
    customer_id = object_customer(obj)[:255]
    params = [
        str(data["id"])[:255],
        str(data["type"])[:100],
        str(data.get("api_version") or "")[:40],
        bool(data.get("livemode")),
        created_at or dt.datetime.fromtimestamp(int(data["created"]), tz=dt.UTC),
        customer_id,
        str(obj.get("id", ""))[:255],
        raw,
        status,
        note,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT, params)
        row = cursor.fetchone()
    if row is None:
        return None
    if status == EventStatus.PENDING:
        transaction.on_commit(functools.partial(_enqueue_after_commit, row[0], customer_id))
    return row[0]


def _bad(request: HttpRequest, detail: str) -> HttpResponse:
    return problem_response(request, status=400, slug="malformed-request", detail=detail)


@csrf_exempt
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return problem_response(
            request,
            status=405,
            slug="method-not-allowed",
            detail="Stripe delivers events with POST.",
            headers={"Allow": "POST"},
        )
    payload = request.body
    try:
        stripe.WebhookSignature.verify_header(
            payload,
            request.headers.get("Stripe-Signature"),
            settings.STRIPE_WEBHOOK_SECRET,
            tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_S,
        )
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as exc:
        # The SDK decodes the body as UTF-8 before it checks anything (and parses the header).
        logger.warning("Stripe webhook refused: %s", getattr(exc, "user_message", None) or exc)
        return _bad(request, "The Stripe-Signature is missing, does not match, or is too old.")
    try:
        data, text, created_at = stripe_event_parse(payload)
    except ValueError as exc:
        logger.warning("Stripe webhook refused: %s", exc)
        return _bad(request, "The body is not a Stripe event.")
    created = stripe_event_record(data, text, created_at)
    return JsonResponse({"received": True, "duplicate": created is None})
