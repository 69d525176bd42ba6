"""Processing of stored Stripe webhook events (the Celery task calls `stripe_event_process`).

Exactly once: the event row is locked FOR UPDATE and its handler's writes commit in the same
transaction as its `succeeded` status, so a second run (a duplicate task, a redelivery after a
crash, two workers) finds it done. Per customer one at a time: a PostgreSQL advisory lock on
the Stripe customer id is taken first, and the handlers lock the billing account row too.
Out of order: see services.subscription_apply (subscriptions), and per-object checks in the
invoice and charge handlers (a failure reported after a payment changes nothing)."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import uuid
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.core.actor import SYSTEM, Actor
from apps.core.locks import advisory_xact_lock
from apps.core.metrics import metric_inc

from . import services, stripe_client
from .models import (
    BillingAccount,
    CheckoutSession,
    EventStatus,
    Invoice,
    InvoiceStatus,
    StripeEvent,
)
from .services import account_lock

logger = logging.getLogger(__name__)

Handler = Callable[[StripeEvent, dict], str | None]
HANDLERS: dict[str, Handler] = {}


def handles(*types: str):
    def register(function: Handler) -> Handler:
        for event_type in types:
            HANDLERS[event_type] = function
        return function

    return register


def object_customer(obj: dict) -> str:
    """The object's Stripe customer id; "" when it has none (or not a string)."""
    customer = obj.get("customer") or ""
    if isinstance(customer, dict):
        customer = customer.get("id") or ""
    return customer if isinstance(customer, str) else ""


def _account(obj: dict) -> BillingAccount | None:
    """The account the object belongs to, locked: by Stripe customer, else by our metadata (a
    subscription or checkout we started carries `quayside_account_id`)."""
    customer = object_customer(obj)
    if customer:
        found = (
            BillingAccount.objects.select_for_update(of=("self",))
            .select_related("plan", "tenant")
            .filter(stripe_customer_id=customer)
            .first()
        )
        if found is not None:
            return found
    account_id = (obj.get("metadata") or {}).get("quayside_account_id") or obj.get(
        "client_reference_id"
    )
    try:
        account_id = uuid.UUID(str(account_id)) if account_id else None
    except ValueError:
        return None
    if account_id is None:
        return None
    account = BillingAccount.objects.filter(pk=account_id).first()
    if account is None or account.stripe_customer_id not in (None, customer):
        return None  # unknown, or another customer's object claiming our account
    locked = account_lock(account)
    if customer and not locked.stripe_customer_id:
        locked.stripe_customer_id = customer
        locked.save(update_fields=["stripe_customer_id", "updated_at"])
    return locked


NOT_OURS = "not a customer of this installation"


# --- Handlers: each returns None when done, or a note when the event is ignored -------------


@handles("checkout.session.completed")
def _checkout_completed(event: StripeEvent, session: dict) -> str | None:
    account = _account(session)
    if account is None:
        return NOT_OURS
    if session.get("mode") == "subscription":
        subscription = session.get("subscription")
        sub_id = subscription.get("id") if isinstance(subscription, dict) else subscription
        if not sub_id:
            return "checkout without a subscription"
        fresh = stripe_client.subscription_retrieve(sub_id)
        services.subscription_apply(
            account=account, subscription=fresh, event_at=event.stripe_created, fetched=True
        )
        CheckoutSession.objects.filter(stripe_session_id=session["id"]).update(
            status=CheckoutSession.Status.COMPLETED, completed_at=timezone.now()
        )
        return None
    if session.get("mode") == "payment":
        if session.get("payment_status") != "paid":
            return "payment not settled yet"
        services.bundle_purchase_complete(
            account=account, session=session, paid_at=event.stripe_created
        )
        return None
    return f"checkout mode {session.get('mode')!r} is not used here"


@handles("checkout.session.async_payment_succeeded")
def _checkout_async_paid(event: StripeEvent, session: dict) -> str | None:
    """A delayed payment method (bank debit, transfer) settled after `completed` reported the
    session unpaid. Only bundle purchases are paid this way here; like a paid `completed`, and
    once per session (bundle_purchase_complete skips a session already invoiced)."""
    account = _account(session)
    if account is None:
        return NOT_OURS
    if session.get("mode") != "payment":
        return f"checkout mode {session.get('mode')!r} is not paid asynchronously here"
    services.bundle_purchase_complete(
        account=account, session=session, paid_at=event.stripe_created
    )
    return None


@handles(
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
)
def _subscription_changed(event: StripeEvent, subscription: dict) -> str | None:
    account = _account(subscription)
    if account is None:
        return NOT_OURS
    outcome = services.subscription_apply(
        account=account, subscription=subscription, event_at=event.stripe_created
    )
    if outcome == "stale":
        return "older than the state already applied"
    if outcome == "foreign":
        return "an ended subscription the account no longer has"
    return None


@handles("invoice.finalized")
def _invoice_finalized(event: StripeEvent, stripe_invoice: dict) -> str | None:
    account = _account(stripe_invoice)
    if account is None:
        return NOT_OURS
    services.invoice_record_from_stripe(account=account, stripe_invoice=stripe_invoice)
    return None


@handles("invoice.paid")
def _invoice_paid(event: StripeEvent, stripe_invoice: dict) -> str | None:
    account = _account(stripe_invoice)
    if account is None:
        return NOT_OURS
    services.invoice_paid_from_stripe(
        account=account, stripe_invoice=stripe_invoice, paid_at=event.stripe_created
    )
    return None


@handles("invoice.payment_failed")
def _invoice_payment_failed(event: StripeEvent, stripe_invoice: dict) -> str | None:
    account = _account(stripe_invoice)
    if account is None:
        return NOT_OURS
    ours = Invoice.objects.filter(stripe_invoice_id=stripe_invoice["id"]).first()
    if ours is not None and ours.status != InvoiceStatus.OPEN:
        return "the invoice was paid since"
    services.invoice_payment_failed(
        account=account, stripe_invoice=stripe_invoice, at=event.stripe_created
    )
    return None


@handles("charge.refunded")
def _charge_refunded(event: StripeEvent, charge: dict) -> str | None:
    account = _account(charge)
    if account is None:
        return NOT_OURS
    services.refund_from_stripe(account=account, charge=charge, at=event.stripe_created)
    return None


# --- Processing -----------------------------------------------------------------------------


def stripe_event_process(*, event_pk: int, customer_id: str | None = None) -> str:
    """Run the event's handler once. Returns its final status; raises when the handler failed
    (after recording the failure, and with all of the handler's writes rolled back), so the
    caller can retry. `customer_id` (the event's, as the task was given it) saves a query."""
    if customer_id is None:
        customer_id = (
            StripeEvent.objects.filter(pk=event_pk).values_list("customer_id", flat=True).first()
        )
        if customer_id is None:
            return "missing"
    try:
        with transaction.atomic():
            if customer_id:
                advisory_xact_lock(f"stripe-customer:{customer_id}")
            event = StripeEvent.objects.select_for_update().filter(pk=event_pk).first()
            if event is None:
                return "missing"
            if event.status in (EventStatus.SUCCEEDED, EventStatus.IGNORED):
                return event.status
            handler = HANDLERS.get(event.type)
            note = "type not handled" if handler is None else None
            if handler is not None:
                note = handler(event, event.payload["data"]["object"])
            event.status = EventStatus.IGNORED if note else EventStatus.SUCCEEDED
            event.attempts += 1
            event.last_error = note or ""
            event.processed_at = timezone.now()
            event.save(update_fields=["status", "attempts", "last_error", "processed_at"])
            event_type = event.type
    except Exception as exc:
        detail = f"{type(exc).__name__}: {getattr(exc, 'detail', None) or exc}"[:2000]
        StripeEvent.objects.filter(pk=event_pk).update(
            status=EventStatus.FAILED, attempts=F("attempts") + 1, last_error=detail
        )
        logger.warning("Stripe event %s failed: %s", event_pk, detail)
        failed_type = StripeEvent.objects.filter(pk=event_pk).values_list("type", flat=True)
        metric_inc(
            "quayside_stripe_events_total",
            type=failed_type.first() or "unknown",
            outcome=EventStatus.FAILED,
        )
        raise
    # Counted once committed: a rolled-back run is counted as failed above instead.
    metric_inc("quayside_stripe_events_total", type=event_type, outcome=event.status)
    return event.status


def event_enqueue(event_pk: int, customer_id: str = "") -> None:
    """Send the processing task straight to its queue (the nameless exchange routes by queue
    name on Redis and AMQP alike): the publish then costs one round trip to the broker, which
    matters on the webhook's request path."""
    from .tasks import process_stripe_event

    queue = process_stripe_event.app.conf.task_default_queue
    process_stripe_event.apply_async((event_pk, customer_id), exchange="", routing_key=queue)


@transaction.atomic
def stripe_event_replay(*, event: StripeEvent, actor: Actor = SYSTEM) -> None:
    """Run an event's handler again (handlers are idempotent: a replay of a processed event
    changes nothing that was already recorded)."""
    StripeEvent.objects.filter(pk=event.pk).update(status=EventStatus.PENDING, last_error="")
    from apps.core.audit import audit_as

    audit_as(
        actor,
        "stripe_event.replayed",
        target=event,
        **{"stripe_event_id": event.stripe_event_id, "type": event.type},
    )
    transaction.on_commit(functools.partial(event_enqueue, event.pk, event.customer_id))


def stripe_events_requeue_stuck(*, now: dt.datetime | None = None) -> int:
    """Events still pending long after they arrived (their task was lost: broker down at
    enqueue, queue flushed) are enqueued again."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.BILLING_WEBHOOK_STUCK_AFTER_S)
    stuck = list(
        StripeEvent.objects.filter(status=EventStatus.PENDING, received_at__lte=cutoff)
        .order_by("received_at")
        .values_list("pk", "customer_id")[:500]
    )
    for event_pk, customer_id in stuck:
        event_enqueue(event_pk, customer_id)
    return len(stuck)
