"""What an operator does from the admin: assign a plan, waive billing, cancel a
subscription, move a period end; and ending local (Stripe-less) subscriptions that ran out."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from apps.core.actor import SYSTEM, Actor
from apps.core.audit import audit_as
from apps.core.problems import Conflict

from .. import selectors, stripe_client
from ..models import BillingAccount, Interval, Plan, SubscriptionStatus
from ._common import _lock
from .checkout import _cancel_at_period_end, _local_plan_assign
from .subscriptions import subscription_apply


def operator_plan_assign(
    *, account: BillingAccount, plan: Plan, actor: Actor, interval: str = Interval.MONTH
) -> BillingAccount:
    """Put a tenant on a plan without Stripe (e.g. with billing waived, or back to free)."""
    with transaction.atomic():
        account = _lock(account)
        if account.is_paid_subscription:
            raise Conflict("The tenant pays through Stripe: cancel that subscription first.")
        if not plan.is_free and not account.billing_waived:
            raise Conflict("Waive the tenant's billing first: a paid plan without Stripe is free.")
        _local_plan_assign(account, plan, interval=interval, actor=actor, reason="operator")
        return account


@transaction.atomic
def operator_waive(*, account: BillingAccount, waived: bool, actor: Actor) -> BillingAccount:
    account = _lock(account)
    if account.billing_waived != waived:
        account.billing_waived = waived
        account.save(update_fields=["billing_waived", "updated_at"])
        audit_as(
            actor,
            "billing.waived" if waived else "billing.unwaived",
            tenant=account.tenant,
            target=account,
        )
    return account


def operator_subscription_cancel(
    *, account: BillingAccount, actor: Actor, immediate: bool
) -> BillingAccount:
    if not immediate:
        return _cancel_at_period_end(account, cancel=True, actor=actor)
    with transaction.atomic():
        account = _lock(account)
        if account.is_paid_subscription:
            subscription = stripe_client.subscription_cancel(
                subscription_id=account.stripe_subscription_id,
                key=stripe_client.idempotency_key("account", account.pk, "cancel"),
            )
            subscription_apply(
                account=account, subscription=subscription, event_at=None, fetched=True
            )
        elif not account.plan.is_free:
            _local_plan_assign(
                account, selectors.plan_free(), interval="", actor=actor, reason="operator cancel"
            )
            account.status = SubscriptionStatus.CANCELED
            account.canceled_at = timezone.now()
            account.save(update_fields=["status", "canceled_at", "updated_at"])
        else:
            raise Conflict("There is no subscription to cancel.")
        audit_as(
            actor,
            "subscription.canceled",
            tenant=account.tenant,
            target=account,
            immediate=True,
            severity="warning",
        )
        return account


@transaction.atomic
def operator_period_end_set(
    *, account: BillingAccount, period_end: dt.datetime, actor
) -> BillingAccount:
    """Correct the record of the current period's end (Stripe itself is not changed)."""
    account = _lock(account)
    before = account.current_period_end
    account.current_period_end = period_end
    account.save(update_fields=["current_period_end", "updated_at"])
    audit_as(
        actor,
        "subscription.period_end_edited",
        tenant=account.tenant,
        target=account,
        severity="warning",
        before=before.isoformat() if before else None,
        after=period_end.isoformat(),
    )
    return account


def subscriptions_end_local(*, now: dt.datetime | None = None) -> int:
    """Stripe ends its subscriptions itself; ours without Stripe (waived) end here."""
    now = now or timezone.now()
    due = BillingAccount.objects.filter(
        stripe_subscription_id__isnull=True, cancel_at_period_end=True, current_period_end__lte=now
    ).values_list("pk", flat=True)
    ended = 0
    for account_id in due:
        with transaction.atomic():
            account = _lock(account_id)
            if not account.cancel_at_period_end:
                continue
            _local_plan_assign(
                account, selectors.plan_free(), interval="", actor=SYSTEM, reason="ended"
            )
            account.status = SubscriptionStatus.CANCELED
            account.canceled_at = now
            account.save(update_fields=["status", "canceled_at", "updated_at"])
            ended += 1
    return ended
