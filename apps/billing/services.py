"""Writes of the billing app, one use case per function (see ARCHITECTURE.md §3 and §6).

Concurrency: everything that changes one tenant's billing state (plan, subscription, credits,
invoices, dunning) runs with that tenant's BillingAccount row locked FOR UPDATE, so webhook
handlers, API calls, admin actions and beat tasks for one tenant happen one at a time.
Calls to Stripe go through `stripe_client` only, with idempotency keys made of local ids; they are
made outside long transactions where the answer is stored afterwards (checkout, customer)."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Sum
from django.utils import timezone

from apps.core.audit import audit_record
from apps.core.inbox import inbox_send
from apps.core.outbox import event_emit
from apps.core.platform_config import config_get
from apps.core.problems import ApplicationError, Conflict, InvalidInput
from apps.tenants import selectors as tenant_selectors
from apps.tenants import services as tenant_services
from apps.tenants.models import Membership, Role, Tenant, TenantStatus
from apps.tenants.roles import role_at_least

from . import selectors, stripe_client
from .models import (
    BillingAccount,
    CheckoutSession,
    CreditBucket,
    CreditBundle,
    CreditEntry,
    CreditKind,
    CreditResetPolicy,
    Interval,
    Invoice,
    InvoiceCounter,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    Plan,
    StripePrice,
    SubscriptionStatus,
    Transaction,
    TransactionKind,
)

logger = logging.getLogger(__name__)

INVOICE_SEQUENCE = "invoice"
BILLING_PAGE_PATH = "/console/billing/"  # the tenant console's billing page (billing/console.py)


# --- Errors ---------------------------------------------------------------------------------


class BillingForbidden(ApplicationError):
    status = 403
    slug = "permission-denied"


class InsufficientCredits(ApplicationError):
    status = 402
    slug = "insufficient-credits"


# --- Helpers --------------------------------------------------------------------------------


def _ts(value: int | float | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(int(value), tz=dt.UTC) if value else None


def _person(actor):
    """The user behind `actor` for a foreign key: None for API keys (and nobody)."""
    return actor if getattr(actor, "pk", None) is not None else None


def _audit(action: str, account: BillingAccount, *, actor=None, severity="info", **metadata):
    """`actor` is a user, an API key's principal (`.api_key`), or None (Stripe, beat)."""
    api_key = getattr(actor, "api_key", None)
    audit_record(
        action=action,
        actor=None if api_key is not None else actor,
        api_key=api_key,
        tenant=account.tenant,
        target=account,
        severity=severity,
        metadata=metadata,
    )


def _lock(account: BillingAccount | uuid.UUID | str) -> BillingAccount:
    """The account row, locked for the rest of the caller's transaction. Only that row: the
    joined plan and tenant are read, not locked (a plan row is shared by every account on it)."""
    pk = account.pk if isinstance(account, BillingAccount) else account
    accounts = BillingAccount.objects.select_for_update(of=("self",))
    return accounts.select_related("plan", "tenant").get(pk=pk)


def _period_key(now: dt.datetime | None = None) -> str:
    return (now or timezone.now()).astimezone(dt.UTC).strftime("%Y-%m")


def _billing_people(account: BillingAccount):
    """Owner and admins: who is told about payments."""
    return [
        membership.user
        for membership in Membership.objects.filter(
            tenant=account.tenant, role__in=(Role.OWNER, Role.ADMIN)
        ).select_related("user")
    ]


def _tell(account: BillingAccount, *, kind: str, title: str, body: str, email: bool = False):
    """Inbox message to the owner and admins, and (on commit) an email."""
    for user in _billing_people(account):
        inbox_send(user=user, kind=kind, title=title, body=body, tenant=account.tenant)
    if email:
        from .tasks import billing_notice_email

        transaction.on_commit(
            functools.partial(
                billing_notice_email.delay, account_id=str(account.pk), title=title, body=body
            )
        )


def _require_buyer(account: BillingAccount, actor_role: str | None) -> None:
    """Owners buy; admins too when the tenant allows it (BillingAccount.admins_can_buy)."""
    if selectors.may_buy(account=account, role=actor_role):
        return
    who = "the owner or an admin" if account.admins_can_buy else "the owner"
    raise BillingForbidden(f"Only {who} of this tenant may manage its billing.")


# --- Catalogue ------------------------------------------------------------------------------


@transaction.atomic
def plan_save(*, plan: Plan, actor=None) -> Plan:
    """Create or change a plan. When its limits change, every tenant on it gets them."""
    creating = plan._state.adding
    before = None if creating else Plan.objects.select_for_update().get(pk=plan.pk)
    if before is not None and before.is_system:
        plan.is_system = True
        plan.is_archived = False
        plan.monthly_price_cents = 0
    plan.slug = (plan.slug or "").strip().lower()
    plan.currency = (plan.currency or "").lower()
    plan.full_clean()
    plan.save()
    audit_record(
        action="plan.created" if creating else "plan.updated",
        actor=actor,
        target=plan,
        metadata={"slug": plan.slug, "monthly_price_cents": plan.monthly_price_cents},
    )
    if before is not None and before.entitlements() != plan.entitlements():
        from .tasks import entitlements_refresh

        transaction.on_commit(functools.partial(entitlements_refresh.delay, plan_id=str(plan.pk)))
    return plan


@transaction.atomic
def plan_delete(*, plan: Plan, actor=None) -> None:
    if plan.is_system:
        raise Conflict("The free plan cannot be deleted.")
    if BillingAccount.objects.filter(plan=plan).exists():
        raise Conflict("Tenants are on this plan: move them first, or archive the plan.")
    audit_record(action="plan.deleted", actor=actor, target=plan, metadata={"slug": plan.slug})
    plan.delete()


@transaction.atomic
def bundle_save(*, bundle: CreditBundle, actor=None) -> CreditBundle:
    creating = bundle._state.adding
    bundle.currency = (bundle.currency or "").lower()
    bundle.full_clean()
    bundle.save()
    audit_record(
        action="bundle.created" if creating else "bundle.updated",
        actor=actor,
        target=bundle,
        metadata={"credits": bundle.credits, "price_cents": bundle.price_cents},
    )
    return bundle


def _price_ensure(*, owner: Plan | CreditBundle, interval: str, amount: int, currency: str) -> bool:
    """One active Stripe price for (owner, interval) at this amount; True if a new one was made."""
    kind = "plan" if isinstance(owner, Plan) else "bundle"
    current = selectors.stripe_price_current(**{kind: owner}, interval=interval)
    if current is not None and current.unit_amount == amount and current.currency == currency:
        return False
    made = StripePrice.objects.filter(**{kind: owner}).count()
    price = stripe_client.price_create(
        key=stripe_client.idempotency_key(kind, owner.pk, "price", interval or "once", made),
        product_id=owner.stripe_product_id,
        unit_amount=amount,
        currency=currency,
        interval=interval or None,
        metadata={f"quayside_{kind}_id": str(owner.pk), "interval": interval},
    )
    with transaction.atomic():
        StripePrice.objects.get_or_create(
            stripe_price_id=price["id"],
            defaults={
                kind: owner,
                "interval": interval,
                "unit_amount": amount,
                "currency": currency,
            },
        )
    if current is not None:
        stripe_client.price_deactivate(
            price_id=current.stripe_price_id,
            key=stripe_client.idempotency_key("price", current.pk, "archive"),
        )
        StripePrice.objects.filter(pk=current.pk).update(active=False)
    return True


def _product_ensure(owner: Plan | CreditBundle, *, active: bool) -> None:
    kind = "plan" if isinstance(owner, Plan) else "bundle"
    if not owner.stripe_product_id:
        product = stripe_client.product_create(
            key=stripe_client.idempotency_key(kind, owner.pk, "product"),
            name=owner.name,
            metadata={f"quayside_{kind}_id": str(owner.pk)},
        )
        owner.stripe_product_id = product["id"]
        type(owner).objects.filter(pk=owner.pk).update(stripe_product_id=product["id"])
    else:
        stamp = int(owner.updated_at.timestamp())
        stripe_client.product_update(
            product_id=owner.stripe_product_id,
            key=stripe_client.idempotency_key(kind, owner.pk, "product", stamp, int(active)),
            name=owner.name,
            active=active,
        )


def plan_sync_to_stripe(*, plan: Plan, actor=None) -> Plan:
    """Push a paid plan to Stripe: a product, a monthly and an annual price. Safe to repeat: the
    ids are stored as they come, and every write's idempotency key is made of local ids."""
    if plan.is_free:
        raise Conflict("Free plans are not sold through Stripe: there is nothing to sync.")
    _product_ensure(plan, active=not plan.is_archived)
    for interval in (Interval.MONTH, Interval.YEAR):
        _price_ensure(
            owner=plan,
            interval=interval,
            amount=plan.price_cents(interval),
            currency=plan.currency,
        )
    plan.stripe_synced_at = timezone.now()
    Plan.objects.filter(pk=plan.pk).update(stripe_synced_at=plan.stripe_synced_at)
    audit_record(
        action="plan.synced", actor=actor, target=plan, metadata={"product": plan.stripe_product_id}
    )
    return plan


def bundle_sync_to_stripe(*, bundle: CreditBundle, actor=None) -> CreditBundle:
    _product_ensure(bundle, active=bundle.is_active)
    _price_ensure(owner=bundle, interval="", amount=bundle.price_cents, currency=bundle.currency)
    bundle.stripe_synced_at = timezone.now()
    CreditBundle.objects.filter(pk=bundle.pk).update(stripe_synced_at=bundle.stripe_synced_at)
    audit_record(
        action="bundle.synced",
        actor=actor,
        target=bundle,
        metadata={"product": bundle.stripe_product_id},
    )
    return bundle


# --- Accounts, plans and entitlements -------------------------------------------------------


def billing_account_ensure(*, tenant) -> BillingAccount:
    """The tenant's billing account, made on first need on the free plan (with its limits
    written onto the tenant and its first monthly credits)."""
    account = selectors.billing_account_for_tenant(tenant)
    if account is not None:
        return account
    try:
        with transaction.atomic():
            account = BillingAccount.objects.create(
                tenant=tenant, plan=selectors.plan_free(), status=SubscriptionStatus.ACTIVE
            )
            _entitlements_write(account)
            _credits_grant_period(account, _period_key())
    except IntegrityError:  # made by a concurrent request
        return selectors.billing_account_for_tenant(tenant)
    return account


def billing_accounts_backfill() -> int:
    """Accounts for tenants that have none yet (tenants cannot call billing when created)."""
    made = 0
    for tenant in Tenant.objects.filter(
        billing_account__isnull=True, status=TenantStatus.ACTIVE
    ).iterator():
        billing_account_ensure(tenant=tenant)
        made += 1
    return made


def _entitlements_write(account: BillingAccount, *, actor=None) -> None:
    """The plan's limits onto the tenant, through the tenants app."""
    try:
        tenant = tenant_services.tenant_entitlements_set(
            tenant=account.tenant, entitlements=account.plan.entitlements(), actor=actor
        )
    except ApplicationError as exc:
        if exc.status != 404:
            raise
        # A deleted tenant has no limits to enforce; its billing record still follows Stripe.
        logger.info("Entitlements not written: tenant %s is gone", account.tenant_id)
        return
    account.tenant.entitlements = tenant.entitlements


def entitlements_refresh(*, plan_id) -> int:
    """Write a changed plan's limits onto every tenant on it."""
    done = 0
    for account_id in BillingAccount.objects.filter(plan_id=plan_id).values_list("pk", flat=True):
        with transaction.atomic():
            _entitlements_write(_lock(account_id))
        done += 1
    return done


def _plan_switch(account: BillingAccount, plan: Plan, *, actor=None, reason: str) -> bool:
    """Move a locked account onto `plan`: limits, bonus credits, the month's credits."""
    if account.plan_id == plan.pk:
        return False
    before = account.plan
    account.plan = plan
    account.save(update_fields=["plan", "updated_at"])
    _entitlements_write(account, actor=actor)
    if plan.bonus_credits:
        _credit_write(
            account,
            kind=CreditKind.GRANT,
            bucket=CreditBucket.SUBSCRIPTION,
            amount=plan.bonus_credits,
            description=f"{plan.name}: welcome bonus",
            key=f"bonus:{account.pk}:{plan.pk}",
        )
    _credits_top_up(account, _period_key())
    _audit(
        "subscription.plan_changed",
        account,
        actor=actor,
        plan_from=before.slug,
        plan_to=plan.slug,
        reason=reason,
    )
    return True


# --- Subscription state from Stripe ---------------------------------------------------------

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
            _audit("subscription.canceled", account, subscription=sub_id)
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
        _audit("subscription.status_changed", account, status_from=before_status, status_to=status)
    return "applied"


# --- Checkout, portal, cancel ---------------------------------------------------------------


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
            _audit("billing.customer_created", locked, customer=customer["id"])
    account.stripe_customer_id = locked.stripe_customer_id
    return account.stripe_customer_id


def checkout_start(
    *,
    tenant,
    actor,
    actor_role: str | None,
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
    _require_buyer(account, actor_role)

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
        created_by=_person(actor),
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
    _audit(
        "billing.checkout_started",
        account,
        actor=actor,
        plan=plan.slug if plan else None,
        bundle=str(bundle.pk) if bundle else None,
        interval=interval if plan else None,
    )
    return {"checkout_url": session["url"], "activated": False, "checkout_id": str(checkout.pk)}


def portal_open(*, tenant, actor, actor_role: str | None) -> str:
    account = billing_account_ensure(tenant=tenant)
    _require_buyer(account, actor_role)
    if not account.stripe_customer_id:
        raise Conflict("This tenant has never paid through Stripe: there is no portal to open.")
    session = stripe_client.portal_session_create(
        # A portal session changes nothing; the key only makes the SDK's own retries safe.
        key=stripe_client.idempotency_key("portal", account.pk, uuid.uuid4().hex),
        customer_id=account.stripe_customer_id,
        return_url=_return_url(tenant),
    )
    _audit("billing.portal_opened", account, actor=actor)
    return session["url"]


def _local_plan_assign(
    account: BillingAccount, plan: Plan, *, interval: str, actor, reason: str
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
    _audit("subscription.assigned", account, actor=actor, plan=plan.slug, reason=reason)


def subscription_cancel_at_period_end(
    *, tenant, actor, actor_role: str | None, cancel: bool = True
) -> BillingAccount:
    """Cancel at the end of the period (the tenant keeps its plan until then), or undo that."""
    account = billing_account_ensure(tenant=tenant)
    _require_buyer(account, actor_role)
    return _cancel_at_period_end(account, cancel=cancel, actor=actor)


def _cancel_at_period_end(account: BillingAccount, *, cancel: bool, actor) -> BillingAccount:
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
        _audit(
            "subscription.cancel_scheduled" if cancel else "subscription.cancel_undone",
            account,
            actor=actor,
            period_end=account.current_period_end.isoformat()
            if account.current_period_end
            else None,
        )
        return account


# --- Operator actions -----------------------------------------------------------------------


def operator_plan_assign(
    *, account: BillingAccount, plan: Plan, actor, interval: str = Interval.MONTH
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
def operator_waive(*, account: BillingAccount, waived: bool, actor) -> BillingAccount:
    account = _lock(account)
    if account.billing_waived != waived:
        account.billing_waived = waived
        account.save(update_fields=["billing_waived", "updated_at"])
        _audit("billing.waived" if waived else "billing.unwaived", account, actor=actor)
    return account


def operator_subscription_cancel(
    *, account: BillingAccount, actor, immediate: bool
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
        _audit("subscription.canceled", account, actor=actor, immediate=True, severity="warning")
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
    _audit(
        "subscription.period_end_edited",
        account,
        actor=actor,
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
                account, selectors.plan_free(), interval="", actor=None, reason="ended"
            )
            account.status = SubscriptionStatus.CANCELED
            account.canceled_at = now
            account.save(update_fields=["status", "canceled_at", "updated_at"])
            ended += 1
    return ended


# --- Credits --------------------------------------------------------------------------------


def _credit_write(
    account: BillingAccount,
    *,
    kind: str,
    bucket: str,
    amount: int,
    description: str,
    key: str | None = None,
    actor=None,
    metadata: dict | None = None,
) -> CreditEntry | None:
    """Append to a locked account's ledger; with `key`, only once (None when already done)."""
    if key and CreditEntry.objects.filter(idempotency_key=key).exists():
        return None
    if amount == 0:
        return None
    total = CreditEntry.objects.filter(account=account).aggregate(total=Sum("amount"))["total"]
    return CreditEntry.objects.create(
        account=account,
        kind=kind,
        bucket=bucket,
        amount=amount,
        balance_after=(total or 0) + amount,
        description=description[:200],
        idempotency_key=key,
        actor=_person(actor),
        metadata=metadata or {},
    )


def _granted_in_period(account: BillingAccount, period: str) -> int:
    return (
        CreditEntry.objects.filter(
            account=account, kind=CreditKind.GRANT, metadata__period=period
        ).aggregate(total=Sum("amount"))["total"]
        or 0
    )


def _credits_grant_period(account: BillingAccount, period: str) -> bool:
    """The plan's monthly credits for `period` (once). `reset`: unused subscription credits
    lapse first; `accrue`: they stay. Past-due and unpaid accounts get nothing."""
    plan = account.plan
    if account.status in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID):
        return False
    if CreditEntry.objects.filter(idempotency_key=f"grant:{account.pk}:{period}").exists():
        return False
    if plan.credit_reset_policy == CreditResetPolicy.RESET:
        left = selectors.credit_balances(account)[CreditBucket.SUBSCRIPTION]
        if left > 0:
            _credit_write(
                account,
                kind=CreditKind.RESET,
                bucket=CreditBucket.SUBSCRIPTION,
                amount=-left,
                description=f"Monthly reset ({period}): unused credits lapse",
                key=f"reset:{account.pk}:{period}",
                metadata={"period": period},
            )
    # Written even for 0 credits, so the period is marked done.
    CreditEntry.objects.create(
        account=account,
        kind=CreditKind.GRANT,
        bucket=CreditBucket.SUBSCRIPTION,
        amount=plan.credits_per_month,
        balance_after=selectors.credit_balances(account)["total"] + plan.credits_per_month,
        description=f"{plan.name}: credits for {period}",
        idempotency_key=f"grant:{account.pk}:{period}",
        metadata={"period": period, "plan": plan.slug},
    )
    return True


def _credits_top_up(account: BillingAccount, period: str) -> None:
    """After moving to a plan with more monthly credits, the difference for this month."""
    if not CreditEntry.objects.filter(idempotency_key=f"grant:{account.pk}:{period}").exists():
        _credits_grant_period(account, period)
        return
    missing = account.plan.credits_per_month - _granted_in_period(account, period)
    if missing > 0:
        _credit_write(
            account,
            kind=CreditKind.GRANT,
            bucket=CreditBucket.SUBSCRIPTION,
            amount=missing,
            description=f"{account.plan.name}: credits for the rest of {period}",
            key=f"grant:{account.pk}:{period}:{account.plan_id}",
            metadata={"period": period, "plan": account.plan.slug},
        )


def _credits_expire_subscription(account: BillingAccount, *, key: str) -> None:
    left = selectors.credit_balances(account)[CreditBucket.SUBSCRIPTION]
    if left > 0:
        _credit_write(
            account,
            kind=CreditKind.EXPIRY,
            bucket=CreditBucket.SUBSCRIPTION,
            amount=-left,
            description="Subscription ended: its credits expire",
            key=key,
        )


def credits_grant_monthly(*, account_id, period: str | None = None) -> bool:
    with transaction.atomic():
        return _credits_grant_period(_lock(account_id), period or _period_key())


def credits_grant_due(*, now: dt.datetime | None = None) -> int:
    """Beat: every account without this month's grant gets it (idempotent per month)."""
    period = _period_key(now)
    granted_this_period = CreditEntry.objects.filter(
        account=OuterRef("pk"), kind=CreditKind.GRANT, metadata__period=period
    )
    pending = BillingAccount.objects.filter(~Exists(granted_this_period)).values_list(
        "pk", flat=True
    )
    granted = 0
    for account_id in pending:
        granted += credits_grant_monthly(account_id=account_id, period=period)
    return granted


def credits_consume(
    *, tenant, amount: int, description: str, key: str | None = None, actor=None
) -> dict[str, Any]:
    """Spend credits: subscription credits first, then purchased ones. Refuses (402) rather
    than go below zero. With `key`, a repeat returns the first result without spending again."""
    if amount <= 0:
        raise InvalidInput("Spend a positive number of credits.", field="amount")
    account = billing_account_ensure(tenant=tenant)
    with transaction.atomic():
        account = _lock(account)
        full_key = f"usage:{account.pk}:{key}" if key else None
        keys = [f"{full_key}:{bucket}" for bucket in CreditBucket.values]
        if full_key and CreditEntry.objects.filter(idempotency_key__in=keys).exists():
            return {"balance": selectors.credit_balances(account), "replayed": True}
        balances = selectors.credit_balances(account)
        if amount > balances["total"]:
            raise InsufficientCredits(
                f"This needs {amount} credits and the tenant has {balances['total']}. Buy a "
                "credit bundle or wait for the monthly grant.",
                extra={"required": amount, "balance": balances["total"]},
            )
        from_subscription = min(amount, max(balances[CreditBucket.SUBSCRIPTION], 0))
        parts = [
            (CreditBucket.SUBSCRIPTION, from_subscription),
            (CreditBucket.PURCHASED, amount - from_subscription),
        ]
        for bucket, part in parts:
            _credit_write(
                account,
                kind=CreditKind.USAGE,
                bucket=bucket,
                amount=-part,
                description=description,
                key=f"{full_key}:{bucket}" if full_key else None,
                actor=actor,
            )
        return {"balance": selectors.credit_balances(account), "replayed": False}


@transaction.atomic
def credits_adjust(*, account: BillingAccount, amount: int, description: str, actor) -> CreditEntry:
    """An operator's grant (positive) or correction (negative, never below zero)."""
    account = _lock(account)
    if amount == 0:
        raise InvalidInput("Adjust by a non-zero number of credits.", field="amount")
    balances = selectors.credit_balances(account)
    if amount < 0 and -amount > balances[CreditBucket.PURCHASED]:
        raise Conflict(f"Only {balances[CreditBucket.PURCHASED]} purchased credits can be removed.")
    entry = _credit_write(
        account,
        kind=CreditKind.ADJUSTMENT,
        bucket=CreditBucket.PURCHASED,
        amount=amount,
        description=description or "Operator adjustment",
        actor=actor,
    )
    _audit("credits.adjusted", account, actor=actor, amount=amount, description=description)
    return entry


# --- Invoices and transactions --------------------------------------------------------------


def _invoice_number_take() -> str:
    """The next number, in the caller's transaction. The UPDATE locks the counter row until
    that transaction ends, so concurrent issues queue behind it, and a rollback gives the
    number back: numbers have no gaps. One statement, one round trip."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE billing_invoicecounter SET value = value + 1 WHERE name = %s RETURNING value",
            [INVOICE_SEQUENCE],
        )
        row = cursor.fetchone()
    if row is None:  # the migration's row is gone (a truncated test database): make it
        try:
            with transaction.atomic():
                InvoiceCounter.objects.create(name=INVOICE_SEQUENCE, value=0)
        except IntegrityError:
            pass
        return _invoice_number_take()
    return f"{settings.BILLING_INVOICE_PREFIX}{row[0]:06d}"


def _bill_to(invoice: Invoice) -> None:
    """Who the invoice is addressed to, as it is when issued."""
    owner = (
        Membership.objects.filter(tenant_id=invoice.account.tenant_id, role=Role.OWNER)
        .select_related("user")
        .first()
    )
    invoice.bill_to_name = invoice.account.tenant.name
    invoice.bill_to_email = owner.user.email if owner is not None else ""


def _number_assign(invoice: Invoice, issued_at: dt.datetime | None) -> None:
    """Give a saved invoice its number: the issuing transaction's last write but the caller's
    status update, so that the counter row, locked from here to the commit, is held briefly."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("an invoice is issued inside a transaction")
    invoice.number = _invoice_number_take()
    invoice.status = InvoiceStatus.PAID
    invoice.issued_at = issued_at or timezone.now()
    Invoice.objects.filter(pk=invoice.pk).update(
        number=invoice.number,
        status=invoice.status,
        issued_at=invoice.issued_at,
        updated_at=timezone.now(),
    )
    _invoice_event("invoice.paid", invoice)


def _invoice_event(type: str, invoice: Invoice) -> None:
    """The outbox event (webhooks): the invoice as GET /api/v1/billing/invoices/{id} renders it."""
    from .api.views import InvoiceOutput

    event_emit(type=type, tenant=invoice.account.tenant_id, data=dict(InvoiceOutput(invoice).data))


def invoice_payment_failed(
    *, account: BillingAccount, stripe_invoice: dict, at: dt.datetime | None = None
) -> Invoice:
    """Stripe could not collect an invoice: record it (open), tell webhooks, start dunning."""
    invoice = invoice_record_from_stripe(account=account, stripe_invoice=stripe_invoice)
    _invoice_event("invoice.payment_failed", invoice)
    dunning_start(account=account, reason=f"invoice {stripe_invoice['id']} payment failed", at=at)
    return invoice


def invoice_issue(*, invoice: Invoice, issued_at: dt.datetime | None = None) -> Invoice:
    """Number an invoice and mark it paid (once). Must run inside the caller's transaction."""
    if invoice.number:
        return invoice
    _bill_to(invoice)
    invoice.save()
    _number_assign(invoice, issued_at)
    return invoice


def _amounts_sum(items) -> int | None:
    """The sum of a Stripe list of `{amount, ...}`; None when Stripe did not send the list."""
    if items is None:
        return None
    return sum(int(item.get("amount") or 0) for item in items)


def _amounts_split(
    *, total: int, subtotal: int | None, discount: int | None, tax: int | None
) -> tuple[int, int, int, int]:
    """(subtotal, discount, tax, total) with subtotal - discount + tax == total, from what Stripe
    sent (None: not sent). Stripe's total and tax are kept; the discount is what the subtotal
    and the tax leave (coupons, and Stripe's own pre-tax credits); without a tax figure the
    tax is what the subtotal and the discount leave; without either, the difference is a tax
    when the total is higher and a discount when it is lower (never a negative tax)."""
    if subtotal is None:
        tax, discount = tax or 0, discount or 0
        return total + discount - tax, discount, tax, total
    if tax is None and discount is None:
        rest = total - subtotal
        return subtotal, max(-rest, 0), max(rest, 0), total
    if tax is None:
        tax = total - subtotal + discount
        if tax < 0:  # more off than the named discounts: the rest is a discount too
            discount, tax = discount - tax, 0
        return subtotal, discount, tax, total
    discount = subtotal + tax - total
    if discount < 0:  # a charge the subtotal does not show: trust Stripe's total and tax
        return total - tax, 0, tax, total
    return subtotal, discount, tax, total


def _invoice_amounts(stripe_invoice: dict) -> tuple[int, int, int, int]:
    """(subtotal, discount, tax, total) of a Stripe invoice in the pinned API version (no `tax`
    nor `total_tax_amounts` there: `total_taxes`, `total_discount_amounts`, and the
    `*_excluding_tax` figures). Taxes included in prices are taken out of the subtotal, so that
    subtotal - discount + tax == total holds for exclusive and inclusive taxes alike."""
    total = int(stripe_invoice.get("total") or stripe_invoice.get("amount_due") or 0)
    taxes = stripe_invoice.get("total_taxes")
    tax = _amounts_sum(taxes)
    if tax is None and stripe_invoice.get("total_excluding_tax") is not None:
        tax = total - int(stripe_invoice["total_excluding_tax"])
    if stripe_invoice.get("subtotal_excluding_tax") is not None:
        subtotal = int(stripe_invoice["subtotal_excluding_tax"])
    elif stripe_invoice.get("subtotal") is not None:
        inclusive = [t for t in taxes or [] if t.get("tax_behavior") == "inclusive"]
        subtotal = int(stripe_invoice["subtotal"]) - (_amounts_sum(inclusive) or 0)
    else:
        subtotal = None
    discount = _amounts_sum(stripe_invoice.get("total_discount_amounts"))
    return _amounts_split(total=total, subtotal=subtotal, discount=discount, tax=tax)


def _line_unit_amount(line: dict) -> int | None:
    """A Stripe line's unit price in whole minor units, when it says one: `pricing.
    unit_amount_decimal` in the pinned API version (`price.unit_amount` in older ones)."""
    raw = (line.get("pricing") or {}).get("unit_amount_decimal")
    if raw is None:
        price = line.get("price")
        raw = price.get("unit_amount") if isinstance(price, dict) else None
    if raw is None:
        return None
    try:
        unit = Decimal(str(raw))
    except ArithmeticError:
        return None
    return int(unit) if unit.is_finite() and unit == unit.to_integral_value() else None


def _line_quantity_and_unit(line: dict, amount: int) -> tuple[int, int]:
    """(quantity, unit amount) such that quantity * unit == amount: Stripe's unit price when it
    gives one that adds up, else the amount divided when it divides exactly, else one unit of
    the whole amount (a unit price rounded to the cent would not add up to the line)."""
    quantity = int(line.get("quantity") or 1)
    unit = _line_unit_amount(line)
    if unit is not None and unit * quantity == amount:
        return quantity, unit
    if amount % quantity == 0:
        return quantity, amount // quantity
    return 1, amount


def _lines_from_stripe(stripe_invoice: dict) -> list[dict]:
    lines = []
    for index, line in enumerate((stripe_invoice.get("lines") or {}).get("data") or []):
        amount = int(line.get("amount") or 0)
        quantity, unit = _line_quantity_and_unit(line, amount)
        description = line.get("description") or "Subscription"
        if quantity != int(line.get("quantity") or 1):
            description = f"{description} (quantity {line['quantity']})"
        period = line.get("period") or {}
        lines.append(
            {
                "position": index,
                "description": description[:300],
                "quantity": quantity,
                "unit_amount_cents": unit,
                "amount_cents": amount,
                "period_start": _ts(period.get("start")),
                "period_end": _ts(period.get("end")),
            }
        )
    return lines


def _stripe_payment_refs(stripe_invoice: dict) -> tuple[str, str]:
    """(payment_intent, charge): on the invoice in older API versions, under `payments` now."""
    intent = stripe_invoice.get("payment_intent") or ""
    charge = stripe_invoice.get("charge") or ""
    for payment in (stripe_invoice.get("payments") or {}).get("data") or []:
        details = payment.get("payment") or {}
        intent = intent or details.get("payment_intent") or ""
        charge = charge or details.get("charge") or ""
    return (intent if isinstance(intent, str) else intent.get("id", "")), (
        charge if isinstance(charge, str) else charge.get("id", "")
    )


def _invoice_fill(invoice: Invoice, stripe_invoice: dict) -> list[dict]:
    """Copy a Stripe invoice's figures onto ours (unsaved); returns its lines."""
    subtotal, discount, tax, total = _invoice_amounts(stripe_invoice)
    intent, charge = _stripe_payment_refs(stripe_invoice)
    invoice.currency = stripe_invoice.get("currency") or invoice.account.plan.currency
    invoice.subtotal_cents = subtotal
    invoice.discount_cents = discount
    invoice.tax_cents = tax
    invoice.total_cents = total
    invoice.hosted_invoice_url = stripe_invoice.get("hosted_invoice_url") or ""
    invoice.stripe_payment_intent_id = intent or invoice.stripe_payment_intent_id
    invoice.stripe_charge_id = charge or invoice.stripe_charge_id
    invoice.period_start = _ts(stripe_invoice.get("period_start"))
    invoice.period_end = _ts(stripe_invoice.get("period_end"))
    return _lines_from_stripe(stripe_invoice)


def _invoice_from_stripe(
    account: BillingAccount, stripe_invoice: dict, *, addressed: bool
) -> tuple[Invoice, list[dict]] | None:
    """Write our copy of a Stripe invoice, not numbered; None when it was issued already."""
    invoice = Invoice.objects.filter(stripe_invoice_id=stripe_invoice["id"]).first()
    if invoice is not None and invoice.number:
        return None
    new = invoice is None
    if new:
        invoice = Invoice(
            account=account, stripe_invoice_id=stripe_invoice["id"], kind=InvoiceKind.SUBSCRIPTION
        )
    lines = _invoice_fill(invoice, stripe_invoice)
    if addressed:
        _bill_to(invoice)
    invoice.save(force_insert=new)
    if not new:
        invoice.lines.all().delete()
    InvoiceLine.objects.bulk_create(InvoiceLine(invoice=invoice, **line) for line in lines)
    return invoice, lines


def invoice_record_from_stripe(*, account: BillingAccount, stripe_invoice: dict) -> Invoice:
    """Our copy of a Stripe invoice not paid yet (open, no number); lines follow Stripe's."""
    written = _invoice_from_stripe(account, stripe_invoice, addressed=False)
    if written is None:
        return Invoice.objects.get(stripe_invoice_id=stripe_invoice["id"])
    return written[0]


def invoice_paid_from_stripe(
    *, account: BillingAccount, stripe_invoice: dict, paid_at: dt.datetime | None = None
) -> Invoice | None:
    """A Stripe invoice was paid: record the transaction, issue our invoice, and end any dunning
    unless another invoice of the current subscription is still open (an old invoice's payment
    delivered late does not end the episode a newer failed one started)."""
    past_due = account.status in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID)
    if past_due or account.past_due_since is not None or account.suspended_by_billing:
        still_open = Invoice.objects.filter(
            account=account, kind=InvoiceKind.SUBSCRIPTION, status=InvoiceStatus.OPEN
        ).exclude(stripe_invoice_id=stripe_invoice["id"])
        if account.subscription_started_at is not None:
            # Open invoices of an earlier, ended subscription are not this one's to pay.
            still_open = still_open.filter(created_at__gte=account.subscription_started_at)
        if not still_open.exists():
            if past_due:
                account.status = SubscriptionStatus.ACTIVE
                account.save(update_fields=["status", "updated_at"])
            dunning_clear(account=account, reason=f"invoice {stripe_invoice['id']} paid")
    amount_paid = int(stripe_invoice.get("amount_paid") or 0)
    if amount_paid <= 0:  # trials and fully discounted periods: nothing to invoice
        return None
    written = _invoice_from_stripe(account, stripe_invoice, addressed=True)
    if written is None:
        return None
    invoice, lines = written
    Transaction.objects.create(
        account=account,
        kind=TransactionKind.SUBSCRIPTION,
        amount_cents=amount_paid,
        currency=invoice.currency,
        description=(lines[0]["description"] if lines else "Subscription")[:300],
        invoice=invoice,
        stripe_ref=stripe_invoice["id"],
        occurred_at=paid_at or timezone.now(),
    )
    _audit("invoice.paid", account, invoice=str(invoice.pk), amount_cents=amount_paid)
    _number_assign(invoice, paid_at)
    return invoice


def bundle_purchase_complete(
    *, account: BillingAccount, session: dict, paid_at: dt.datetime | None = None
) -> Invoice | None:
    """A paid Checkout for a credit bundle: invoice, transaction, purchased credits (once)."""
    if Invoice.objects.filter(stripe_checkout_session_id=session["id"]).exists():
        return None
    checkout = CheckoutSession.objects.filter(stripe_session_id=session["id"]).first()
    bundle_id = (session.get("metadata") or {}).get("quayside_bundle_id")
    bundle = checkout.bundle if checkout is not None else None
    if bundle is None and bundle_id:
        bundle = CreditBundle.objects.filter(pk=bundle_id).first()
    if bundle is None:
        raise Conflict(f"Checkout {session['id']} names no credit bundle we know.")
    amount = int(session.get("amount_total") or bundle.price_cents)
    # total_details names the discount and the tax (exclusive and inclusive): the subtotal
    # follows from them, so a price that includes its tax shows it net of that tax.
    details = session.get("total_details") or {}
    named = details.get("amount_discount") is not None and details.get("amount_tax") is not None
    subtotal, discount, tax, _ = _amounts_split(
        total=amount,
        subtotal=None if named else session.get("amount_subtotal"),
        discount=details.get("amount_discount"),
        tax=details.get("amount_tax"),
    )
    currency = session.get("currency") or bundle.currency
    description = f"{bundle.name} ({bundle.credits} credits)"
    invoice = Invoice(
        account=account,
        kind=InvoiceKind.BUNDLE,
        currency=currency,
        subtotal_cents=subtotal,
        discount_cents=discount,
        tax_cents=tax,
        total_cents=amount,
        stripe_checkout_session_id=session["id"],
        stripe_payment_intent_id=session.get("payment_intent") or "",
    )
    _bill_to(invoice)
    invoice.save(force_insert=True)
    InvoiceLine.objects.create(
        invoice=invoice,
        description=description,
        quantity=1,
        unit_amount_cents=subtotal,
        amount_cents=subtotal,
    )
    Transaction.objects.create(
        account=account,
        kind=TransactionKind.PURCHASE,
        amount_cents=amount,
        currency=currency,
        description=description,
        invoice=invoice,
        stripe_ref=session["id"],
        occurred_at=paid_at or timezone.now(),
    )
    _credit_write(
        account,
        kind=CreditKind.PURCHASE,
        bucket=CreditBucket.PURCHASED,
        amount=bundle.credits,
        description=f"Bought {bundle.name}",
        key=f"purchase:{session['id']}",
        metadata={"invoice": str(invoice.pk)},
    )
    if checkout is not None:
        CheckoutSession.objects.filter(pk=checkout.pk).update(
            status=CheckoutSession.Status.COMPLETED, completed_at=timezone.now()
        )
    _audit("credits.purchased", account, bundle=bundle.name, invoice=str(invoice.pk))
    _number_assign(invoice, paid_at)
    return invoice


def refund_from_stripe(
    *, account: BillingAccount, charge: dict, at: dt.datetime | None = None
) -> Transaction | None:
    """charge.refunded: record what was refunded since we last looked, as a negative
    transaction. `amount_refunded` is cumulative at Stripe, so repeats record nothing."""
    intent = charge.get("payment_intent") or ""
    invoice = None
    if charge.get("id"):
        invoice = Invoice.objects.filter(account=account, stripe_charge_id=charge["id"]).first()
    if invoice is None and intent:
        invoice = Invoice.objects.filter(account=account, stripe_payment_intent_id=intent).first()
    if invoice is None and isinstance(charge.get("invoice"), str):
        invoice = Invoice.objects.filter(stripe_invoice_id=charge["invoice"]).first()
    refunded_total = int(charge.get("amount_refunded") or 0)
    ref = f"{charge['id']}:refunded:{refunded_total}"
    if Transaction.objects.filter(stripe_ref=ref).exists():
        return None
    already = -(
        Transaction.objects.filter(
            account=account, kind=TransactionKind.REFUND, stripe_ref__startswith=f"{charge['id']}:"
        ).aggregate(total=Sum("amount_cents"))["total"]
        or 0
    )
    delta = refunded_total - already
    if delta <= 0:
        return None
    transaction_row = Transaction.objects.create(
        account=account,
        kind=TransactionKind.REFUND,
        amount_cents=-delta,
        currency=charge.get("currency") or (invoice.currency if invoice else "usd"),
        description=f"Refund{f' of {invoice.number}' if invoice and invoice.number else ''}",
        invoice=invoice,
        stripe_ref=ref,
        occurred_at=at or timezone.now(),
    )
    if invoice is not None:
        invoice.amount_refunded_cents = min(refunded_total, invoice.total_cents)
        if invoice.amount_refunded_cents >= invoice.total_cents:
            invoice.status = InvoiceStatus.REFUNDED
        invoice.save(update_fields=["amount_refunded_cents", "status", "updated_at"])
    _audit("invoice.refunded", account, charge=charge["id"], amount_cents=delta)
    return transaction_row


# --- Dunning --------------------------------------------------------------------------------


def dunning_start(*, account: BillingAccount, reason: str, at: dt.datetime | None = None) -> bool:
    """A payment failed: past_due, the owner and admins told (inbox and email). Once per
    episode: repeated failures while past due change nothing."""
    if account.past_due_since is not None:
        return False
    if account.status not in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID):
        account.status = SubscriptionStatus.PAST_DUE
    account.past_due_since = at or timezone.now()
    account.save(update_fields=["status", "past_due_since", "updated_at"])
    grace = config_get("billing.dunning_grace_days")
    deadline = account.past_due_since + dt.timedelta(days=grace)
    _tell(
        account,
        kind="billing.payment_failed",
        title=f"Payment failed for {account.tenant.name}",
        body=(
            f"We could not collect the payment for {account.tenant.name}. Update the payment "
            f"method in the billing portal before {deadline:%Y-%m-%d}, or the tenant will be "
            "suspended."
        ),
        email=True,
    )
    _audit("subscription.past_due", account, severity="warning", reason=reason, grace_days=grace)
    return True


def dunning_clear(*, account: BillingAccount, reason: str, paid: bool = True) -> None:
    """Paid again (or, `paid=False`, the subscription ended and the account is on free): the
    episode ends and a tenant billing suspended is resumed. A suspension billing did not make
    (an operator's) is never lifted here."""
    was_suspended = account.suspended_by_billing
    account.past_due_since = None
    account.suspended_by_billing = False
    account.save(update_fields=["past_due_since", "suspended_by_billing", "updated_at"])
    if was_suspended:
        tenant_services.tenant_resume(tenant=account.tenant)
        _tell(
            account,
            kind="billing.reactivated",
            title=f"{account.tenant.name} is active again",
            body=(
                "Thank you: the payment went through and the tenant is no longer suspended."
                if paid
                else "The subscription ended: the tenant is on the free plan and no longer "
                "suspended."
            ),
            email=True,
        )
    _audit("subscription.recovered", account, reason=reason, resumed=was_suspended)


def dunning_enforce(*, now: dt.datetime | None = None) -> int:
    """Beat: suspend tenants past due for longer than the grace period."""
    now = now or timezone.now()
    deadline = now - dt.timedelta(days=config_get("billing.dunning_grace_days"))
    due = BillingAccount.objects.filter(
        past_due_since__lte=deadline, suspended_by_billing=False
    ).values_list("pk", flat=True)
    suspended = 0
    for account_id in due:
        with transaction.atomic():
            account = _lock(account_id)
            if account.suspended_by_billing or account.past_due_since is None:
                continue
            if account.past_due_since > deadline:
                continue
            tenant = Tenant.objects.select_for_update().get(pk=account.tenant_id)
            if tenant.status == TenantStatus.SUSPENDED:
                # Suspended already (an operator): not billing's to lift on payment. The episode
                # goes on; checked again at the next run in case the operator resumes it.
                continue
            tenant_services.tenant_suspend(tenant=tenant, reason="Billing: payment overdue")
            account.suspended_by_billing = True
            account.save(update_fields=["suspended_by_billing", "updated_at"])
            _tell(
                account,
                kind="billing.suspended",
                title=f"{account.tenant.name} is suspended for an unpaid bill",
                body="Pay the open invoice in the billing portal to resume it.",
                email=True,
            )
            _audit(
                "subscription.suspended",
                account,
                severity="warning",
                past_due_since=account.past_due_since.isoformat(),
            )
            suspended += 1
    return suspended


@transaction.atomic
def billing_settings_update(
    *, tenant, actor, actor_role: str | None, admins_can_buy: bool
) -> BillingAccount:
    """The tenant's billing settings; only the owner changes who may buy."""
    account = _lock(billing_account_ensure(tenant=tenant))
    if not role_at_least(actor_role, Role.OWNER):
        raise BillingForbidden("Only the owner decides who may manage billing.")
    if account.admins_can_buy != admins_can_buy:
        account.admins_can_buy = admins_can_buy
        account.save(update_fields=["admins_can_buy", "updated_at"])
        _audit("billing.settings_changed", account, actor=actor, admins_can_buy=admins_can_buy)
    return account
