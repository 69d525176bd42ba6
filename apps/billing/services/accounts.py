"""Billing accounts, the plan a tenant is on, the entitlements (limits) billing writes onto
the tenant, and the tenant's billing settings."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction

from apps.core.actor import SYSTEM, Actor
from apps.core.audit import audit_as
from apps.core.model_update import model_update
from apps.core.problems import ApplicationError
from apps.tenants import services as tenant_services
from apps.tenants.models import Role, Tenant, TenantStatus
from apps.tenants.roles import role_at_least

from .. import selectors
from ..models import BillingAccount, CreditBucket, CreditKind, Plan, SubscriptionStatus
from ._common import BillingForbidden, _lock, _period_key
from ._ledger import _credit_write, _credits_grant_period, _credits_top_up

logger = logging.getLogger(__name__)


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


def _entitlements_write(account: BillingAccount, *, actor: Actor = SYSTEM) -> None:
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


def _plan_switch(
    account: BillingAccount, plan: Plan, *, actor: Actor = SYSTEM, reason: str
) -> bool:
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
    audit_as(
        actor,
        "subscription.plan_changed",
        tenant=account.tenant,
        target=account,
        plan_from=before.slug,
        plan_to=plan.slug,
        reason=reason,
    )
    return True


# --- Settings -------------------------------------------------------------------------------


@transaction.atomic
def billing_settings_update(*, tenant, actor: Actor, admins_can_buy: bool) -> BillingAccount:
    """The tenant's billing settings; only the owner changes who may buy."""
    account = _lock(billing_account_ensure(tenant=tenant))
    if not role_at_least(actor.role, Role.OWNER):
        raise BillingForbidden("Only the owner decides who may manage billing.")
    if model_update(account, ("admins_can_buy",), {"admins_can_buy": admins_can_buy}, save=True):
        audit_as(
            actor,
            "billing.settings_changed",
            tenant=account.tenant,
            target=account,
            admins_can_buy=admins_can_buy,
        )
    return account
