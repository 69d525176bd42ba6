"""Subscription state from Stripe: a Stripe subscription object applied to the account
(status, plan, period, cancellation), in order and idempotently."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from apps.core.actor import SYSTEM
from apps.core.audit import audit_as
from apps.core.problems import Conflict

from .. import selectors, stripe_client
from ..models import BillingAccount, Plan, SubscriptionStatus
from ._common import _ts
from ._ledger import _credits_expire_subscription
from .accounts import _plan_switch
from .dunning import dunning_clear, dunning_start

# Stripe's statuses onto ours. `incomplete` (first payment pending) changes nothing yet.
STATUS_FROM_STRIPE = {
    "trialing": SubscriptionStatus.TRIALING,
    "active": SubscriptionStatus.ACTIVE,
    "past_due": SubscriptionStatus.PAST_DUE,
    "unpaid": SubscriptionStatus.UNPAID,
    "canceled": SubscriptionStatus.CANCELED,
    "incomplete_expired": SubscriptionStatus.CANCELED,
    "paused": SubscriptionStatus.UNPAID,
}


def _subscription_price(subscription: dict) -> dict:
    items = (subscription.get("items") or {}).get("data") or []
    item = items[0] if items else {}
    price = item.get("price") or item.get("plan") or subscription.get("plan") or {}
    interval = (price.get("recurring") or {}).get("interval") or price.get("interval") or ""
    amount = price.get("unit_amount")
    if amount is None:
        amount = price.get("amount")
    return {
        "id": price.get("id", ""),
        "interval": interval,
        "amount": amount,
        "currency": price.get("currency", ""),
        # Since API 2025-03-31 the period is on the item; before, on the subscription.
        "period_start": item.get("current_period_start")
        or subscription.get("current_period_start"),
        "period_end": item.get("current_period_end") or subscription.get("current_period_end"),
    }


def subscription_apply(
    *,
    account: BillingAccount,
    subscription: dict,
    event_at: dt.datetime | None,
    fetched: bool = False,
) -> str:
    """Bring a locked account to the state of a Stripe subscription object.

    Out of order: the `created` time of the newest event applied is kept on the account. An
    event older than that is skipped ("stale"): a newer state is already there. One from the
    same second cannot be ordered by time, so the subscription is re-read from Stripe instead.
    `fetched=True` marks an object Stripe just returned (a re-read, or the answer to our own
    write): current by definition, applied without the check. Each change at Stripe has its
    event, so the account converges on the newest state whatever the order of delivery.
    While the account has a live subscription, an event of another one only takes the account
    over when it is live and newer than the state applied (or `fetched`); else "foreign".

    Dunning: an active or trialing state ends an episode (and lifts a billing suspension) unless
    the event is not newer than the payment failure that started it; a cancellation ends it too
    (the account drops to free: nothing left to suspend it for).
    Returns "applied", "stale" or "foreign" (a subscription that is not the account's)."""
    sub_id = subscription["id"]
    stripe_status = subscription.get("status", "")
    known_at = account.subscription_state_at
    if account.stripe_subscription_id and account.stripe_subscription_id != sub_id:
        current_live = account.status != SubscriptionStatus.CANCELED
        incoming_live = STATUS_FROM_STRIPE.get(stripe_status) not in (
            None,
            SubscriptionStatus.CANCELED,
        )
        newer = fetched or event_at is None or known_at is None or event_at > known_at
        if current_live and not (incoming_live and newer):
            return "foreign"
    elif account.stripe_subscription_id == sub_id and event_at and known_at and not fetched:
        if event_at < known_at:
            return "stale"
        if event_at == known_at:
            subscription = stripe_client.subscription_retrieve(sub_id)
            stripe_status = subscription.get("status", "")
            fetched = True

    status = STATUS_FROM_STRIPE.get(stripe_status)
    price = _subscription_price(subscription)
    plan, interval = selectors.plan_for_stripe_price(price["id"])
    if plan is None:
        plan_id = (subscription.get("metadata") or {}).get("quayside_plan_id")
        plan = Plan.objects.filter(pk=plan_id).first() if plan_id else None
        interval = price["interval"]
    if plan is None:
        raise Conflict(f"Subscription {sub_id} is on price {price['id']!r}, which no plan has.")

    before_status = account.status
    if account.stripe_subscription_id != sub_id:
        account.subscription_started_at = _ts(subscription.get("start_date")) or timezone.now()
    account.stripe_subscription_id = sub_id
    if event_at is not None:
        account.subscription_state_at = max(event_at, account.subscription_state_at or event_at)
    if status is None:  # incomplete: linked, nothing else yet
        account.save()
        return "applied"

    account.subscription_amount_cents = price["amount"]
    account.subscription_currency = price["currency"] or plan.currency
    account.cancel_at_period_end = bool(subscription.get("cancel_at_period_end"))
    account.trial_end = _ts(subscription.get("trial_end"))
    if status == SubscriptionStatus.CANCELED:
        account.status = status
        account.canceled_at = (
            _ts(subscription.get("ended_at"))
            or _ts(subscription.get("canceled_at"))
            or timezone.now()
        )
        account.interval = ""
        account.current_period_start = account.current_period_end = None
        account.cancel_at_period_end = False
        account.save()
        _plan_switch(account, selectors.plan_free(), reason="subscription canceled")
        _credits_expire_subscription(account, key=f"expiry:{sub_id}")
        if account.past_due_since is not None or account.suspended_by_billing:
            dunning_clear(account=account, reason="subscription canceled", paid=False)
        if before_status != status:
            audit_as(
                SYSTEM,
                "subscription.canceled",
                tenant=account.tenant,
                target=account,
                subscription=sub_id,
            )
        return "applied"

    in_dunning = (
        account.past_due_since is not None
        or account.suspended_by_billing
        or before_status in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID)
    )
    # A state from before the payment failure that started the episode (a late delivery; the
    # same second counts as before: a renewal's update and its failed payment share it).
    before_failure = (
        not fetched
        and event_at is not None
        and account.past_due_since is not None
        and event_at <= account.past_due_since
    )
    live = status not in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID)
    account.status = status
    if live and in_dunning and before_failure:
        account.status = before_status  # the newer failure stands
    account.canceled_at = None
    account.interval = interval or price["interval"]
    account.current_period_start = _ts(price["period_start"])
    account.current_period_end = _ts(price["period_end"])
    account.save()
    _plan_switch(account, plan, reason=f"stripe subscription {stripe_status}")
    if not live:
        dunning_start(account=account, reason=f"subscription {stripe_status}", at=event_at)
    elif in_dunning and not before_failure:
        dunning_clear(account=account, reason=f"subscription {stripe_status}")
    status = account.status
    if before_status != status:
        audit_as(
            SYSTEM,
            "subscription.status_changed",
            tenant=account.tenant,
            target=account,
            status_from=before_status,
            status_to=status,
        )
    return "applied"
