"""Dunning: a failed payment puts the subscription past due; after the grace period the
tenant is suspended (through tenants.services); a payment clears it and resumes the tenant."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from apps.core.actor import SYSTEM
from apps.core.audit import audit_as
from apps.core.platform_config import config_get
from apps.tenants import services as tenant_services
from apps.tenants.models import Tenant, TenantStatus

from ..models import BillingAccount, SubscriptionStatus
from ._common import _lock, _tell


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
    audit_as(
        SYSTEM,
        "subscription.past_due",
        tenant=account.tenant,
        target=account,
        severity="warning",
        reason=reason,
        grace_days=grace,
    )
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
    audit_as(
        SYSTEM,
        "subscription.recovered",
        tenant=account.tenant,
        target=account,
        reason=reason,
        resumed=was_suspended,
    )


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
            audit_as(
                SYSTEM,
                "subscription.suspended",
                tenant=account.tenant,
                target=account,
                severity="warning",
                past_due_since=account.past_due_since.isoformat(),
            )
            suspended += 1
    return suspended
