"""The catalogue: saving and deleting plans and credit bundles, and pushing them to Stripe as
products and prices."""

from __future__ import annotations

import functools

from django.db import transaction
from django.utils import timezone

from apps.core.actor import SYSTEM, Actor
from apps.core.audit import audit_as
from apps.core.problems import Conflict
from apps.core.versioning import version_bump, version_lock

from .. import selectors, stripe_client
from ..models import BillingAccount, CreditBundle, Interval, Plan, StripePrice


@transaction.atomic
def plan_save(*, plan: Plan, actor: Actor = SYSTEM, expected_version: int | None = None) -> Plan:
    """Create or change a plan. When its limits change, every tenant on it gets them.
    `expected_version`: the version the operator's form was opened at (stale: refused with
    VersionConflict, nothing saved)."""
    creating = plan._state.adding
    before = None if creating else Plan.objects.select_for_update().get(pk=plan.pk)
    if before is not None:  # the operator's form already changed `plan`: keep its fields
        version_lock(plan, expected=expected_version, reload=False)
    if before is not None and before.is_system:
        plan.is_system = True
        plan.is_archived = False
        plan.monthly_price_cents = 0
    plan.slug = (plan.slug or "").strip().lower()
    plan.currency = (plan.currency or "").lower()
    plan.full_clean()
    plan.save()
    if before is not None:
        version_bump(plan)
    audit_as(
        actor,
        "plan.created" if creating else "plan.updated",
        target=plan,
        **{"slug": plan.slug, "monthly_price_cents": plan.monthly_price_cents},
    )
    if before is not None and before.entitlements() != plan.entitlements():
        from ..tasks import entitlements_refresh

        transaction.on_commit(functools.partial(entitlements_refresh.delay, plan_id=str(plan.pk)))
    return plan


@transaction.atomic
def plan_delete(*, plan: Plan, actor: Actor = SYSTEM, expected_version: int | None = None) -> None:
    version_lock(plan, expected=expected_version)
    if plan.is_system:
        raise Conflict("The free plan cannot be deleted.")
    if BillingAccount.objects.filter(plan=plan).exists():
        raise Conflict("Tenants are on this plan: move them first, or archive the plan.")
    audit_as(actor, "plan.deleted", target=plan, slug=plan.slug)
    plan.delete()


@transaction.atomic
def bundle_save(*, bundle: CreditBundle, actor: Actor = SYSTEM) -> CreditBundle:
    creating = bundle._state.adding
    bundle.currency = (bundle.currency or "").lower()
    bundle.full_clean()
    bundle.save()
    audit_as(
        actor,
        "bundle.created" if creating else "bundle.updated",
        target=bundle,
        **{"credits": bundle.credits, "price_cents": bundle.price_cents},
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


def plan_sync_to_stripe(*, plan: Plan, actor: Actor = SYSTEM) -> Plan:
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
    audit_as(actor, "plan.synced", target=plan, product=plan.stripe_product_id)
    return plan


def bundle_sync_to_stripe(*, bundle: CreditBundle, actor: Actor = SYSTEM) -> CreditBundle:
    _product_ensure(bundle, active=bundle.is_active)
    _price_ensure(owner=bundle, interval="", amount=bundle.price_cents, currency=bundle.currency)
    bundle.stripe_synced_at = timezone.now()
    CreditBundle.objects.filter(pk=bundle.pk).update(stripe_synced_at=bundle.stripe_synced_at)
    audit_as(
        actor,
        "bundle.synced",
        target=bundle,
        **{"product": bundle.stripe_product_id},
    )
    return bundle
