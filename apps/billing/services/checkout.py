"""Buying: Stripe Checkout for plans and credit bundles (or activating a free or waived plan
at once), the customer portal, and cancelling or resuming at period end."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core.actor import SYSTEM, Actor
from apps.core.audit import audit_as
from apps.core.problems import Conflict, InvalidInput
from apps.tenants import selectors as tenant_selectors
from apps.tenants.models import Membership, Role

from .. import selectors, stripe_client
from ..models import (
    BillingAccount,
    CheckoutSession,
    CreditBundle,
    Interval,
    Plan,
    SubscriptionStatus,
)
from ._common import _lock, _require_buyer
from .accounts import _plan_switch, billing_account_ensure
from .subscriptions import subscription_apply

BILLING_PAGE_PATH = "/console/billing/"  # the tenant console's billing page (billing/console.py)


def _return_url(tenant) -> str:
    """The console's billing page, where Checkout and the portal send people back: on the scheme
    and port the site is served on (ROOT_URL's: http and :8000 locally, https in production),
    unless BILLING_RETURN_URL names another address (`{host}`: the tenant's host)."""
    if settings.BILLING_RETURN_URL:
        return settings.BILLING_RETURN_URL.format(host=f"{tenant.slug}.{settings.BASE_DOMAIN}")
    return tenant_selectors.tenant_url(tenant, BILLING_PAGE_PATH)


def _customer_ensure(account: BillingAccount) -> str:
    if account.stripe_customer_id:
        return account.stripe_customer_id
    owner = Membership.objects.filter(tenant=account.tenant, role=Role.OWNER).select_related("user")
    owner = owner.first()
    customer = stripe_client.customer_create(
        key=stripe_client.idempotency_key("customer", account.pk),
        name=account.tenant.name,
        email=getattr(owner.user, "email", "") if owner else "",
        metadata={
            "quayside_tenant_id": str(account.tenant_id),
            "quayside_account_id": str(account.pk),
        },
    )
    with transaction.atomic():
        locked = _lock(account)
        if not locked.stripe_customer_id:
            locked.stripe_customer_id = customer["id"]
            locked.save(update_fields=["stripe_customer_id", "updated_at"])
            audit_as(
                SYSTEM,
                "billing.customer_created",
                tenant=locked.tenant,
                target=locked,
                customer=customer["id"],
            )
    account.stripe_customer_id = locked.stripe_customer_id
    return account.stripe_customer_id


def checkout_start(
    *,
    tenant,
    actor: Actor,
    plan: Plan | None = None,
    interval: str = Interval.MONTH,
    bundle: CreditBundle | None = None,
) -> dict[str, Any]:
    """Buy a plan (per month or year) or a credit bundle. A free plan, or any plan for a tenant
    whose billing is waived, is activated at once; otherwise a Stripe Checkout is opened and the
    webhook finishes the purchase. Returns {"checkout_url", "activated", "checkout_id"}."""
    if (plan is None) == (bundle is None):
        raise InvalidInput("Name a plan or a bundle, not both.", field="plan")
    account = billing_account_ensure(tenant=tenant)
    _require_buyer(account, actor.role)

    if plan is not None and (plan.is_free or account.billing_waived):
        with transaction.atomic():
            account = _lock(account)
            if account.is_paid_subscription:
                raise Conflict(
                    "This tenant has a Stripe subscription: cancel it (at period end) first, or "
                    "change plans in the billing portal."
                )
            _local_plan_assign(account, plan, interval=interval, actor=actor, reason="checkout")
        return {"checkout_url": None, "activated": True, "checkout_id": None}

    if plan is not None and account.is_paid_subscription:
        raise Conflict(
            "This tenant already has a subscription: change plans in the billing portal."
        )
    if not stripe_client.is_configured():
        raise stripe_client.StripeNotConfigured()
    price = selectors.stripe_price_current(
        plan=plan, bundle=bundle, interval=interval if plan is not None else ""
    )
    if price is None:
        raise Conflict("This is not on sale yet: an operator has to sync it to Stripe.")

    customer_id = _customer_ensure(account)
    checkout = CheckoutSession.objects.create(
        account=account,
        plan=plan,
        bundle=bundle,
        interval=interval if plan else "",
        created_by=actor.person,
    )
    metadata = {
        "quayside_account_id": str(account.pk),
        "quayside_checkout_id": str(checkout.pk),
    }
    if bundle is not None:
        metadata["quayside_bundle_id"] = str(bundle.pk)
    params: dict[str, Any] = {
        "mode": "subscription" if plan is not None else "payment",
        "customer": customer_id,
        "client_reference_id": str(account.pk),
        "line_items": [{"price": price.stripe_price_id, "quantity": 1}],
        "success_url": _return_url(tenant) + "?checkout=success",
        "cancel_url": _return_url(tenant) + "?checkout=canceled",
        "metadata": metadata,
    }
    if plan is not None:
        params["subscription_data"] = {"metadata": {**metadata, "quayside_plan_id": str(plan.pk)}}
    session = stripe_client.checkout_session_create(
        key=stripe_client.idempotency_key("checkout", checkout.pk), params=params
    )
    checkout.stripe_session_id = session["id"]
    checkout.url = session["url"]
    checkout.save(update_fields=["stripe_session_id", "url", "updated_at"])
    audit_as(
        actor,
        "billing.checkout_started",
        tenant=account.tenant,
        target=account,
        plan=plan.slug if plan else None,
        bundle=str(bundle.pk) if bundle else None,
        interval=interval if plan else None,
    )
    return {"checkout_url": session["url"], "activated": False, "checkout_id": str(checkout.pk)}


def portal_open(*, tenant, actor: Actor) -> str:
    account = billing_account_ensure(tenant=tenant)
    _require_buyer(account, actor.role)
    if not account.stripe_customer_id:
        raise Conflict("This tenant has never paid through Stripe: there is no portal to open.")
    session = stripe_client.portal_session_create(
        # A portal session changes nothing; the key only makes the SDK's own retries safe.
        key=stripe_client.idempotency_key("portal", account.pk, uuid.uuid4().hex),
        customer_id=account.stripe_customer_id,
        return_url=_return_url(tenant),
    )
    audit_as(actor, "billing.portal_opened", tenant=account.tenant, target=account)
    return session["url"]


def _local_plan_assign(
    account: BillingAccount, plan: Plan, *, interval: str, actor: Actor, reason: str
) -> None:
    """A plan without Stripe (free, or waived billing), on a locked account."""
    now = timezone.now()
    account.status = SubscriptionStatus.ACTIVE
    account.canceled_at = None
    account.cancel_at_period_end = False
    account.past_due_since = None
    if plan.is_free:
        account.interval = ""
        account.current_period_start = account.current_period_end = None
    else:
        account.interval = interval or Interval.MONTH
        account.current_period_start = now
        account.current_period_end = None  # runs until changed
    account.save()
    _plan_switch(account, plan, actor=actor, reason=reason)
    audit_as(
        actor,
        "subscription.assigned",
        tenant=account.tenant,
        target=account,
        plan=plan.slug,
        reason=reason,
    )


def subscription_cancel_at_period_end(
    *, tenant, actor: Actor, cancel: bool = True
) -> BillingAccount:
    """Cancel at the end of the period (the tenant keeps its plan until then), or undo that."""
    account = billing_account_ensure(tenant=tenant)
    _require_buyer(account, actor.role)
    return _cancel_at_period_end(account, cancel=cancel, actor=actor)


def _cancel_at_period_end(account: BillingAccount, *, cancel: bool, actor: Actor) -> BillingAccount:
    with transaction.atomic():
        account = _lock(account)
        if account.plan.is_free or account.status == SubscriptionStatus.CANCELED:
            raise Conflict("There is no subscription to cancel.")
        if account.cancel_at_period_end == cancel:
            return account
        if cancel and not account.is_paid_subscription and account.current_period_end is None:
            # A plan without Stripe (billing waived) runs until changed: there is no period end
            # to cancel at, and ending it at once is not what was asked.
            raise Conflict(
                "This plan has no billing period (billing is waived), so it has no end to cancel "
                "at: it runs until changed. To end it now, switch to the free plan."
            )
        if account.is_paid_subscription:
            subscription = stripe_client.subscription_update(
                subscription_id=account.stripe_subscription_id,
                key=stripe_client.idempotency_key(
                    "account", account.pk, "write", account.stripe_write_seq
                ),
                params={"cancel_at_period_end": cancel},
            )
            account.stripe_write_seq += 1
            account.save(update_fields=["stripe_write_seq"])
            subscription_apply(
                account=account, subscription=subscription, event_at=None, fetched=True
            )
        else:
            account.cancel_at_period_end = cancel
            account.save(update_fields=["cancel_at_period_end", "updated_at"])
        audit_as(
            actor,
            "subscription.cancel_scheduled" if cancel else "subscription.cancel_undone",
            tenant=account.tenant,
            target=account,
            period_end=account.current_period_end.isoformat()
            if account.current_period_end
            else None,
        )
        return account
