"""Private to the billing services: writes to the credit ledger (append-only; its sum is the
balance) shared by plan switches, subscriptions, credit services and invoices. Each runs with
the account row locked by its caller."""

from __future__ import annotations

from django.db.models import Sum

from apps.core.actor import SYSTEM, Actor

from .. import selectors
from ..models import (
    BillingAccount,
    CreditBucket,
    CreditEntry,
    CreditKind,
    CreditResetPolicy,
    SubscriptionStatus,
)


def _credit_write(
    account: BillingAccount,
    *,
    kind: str,
    bucket: str,
    amount: int,
    description: str,
    key: str | None = None,
    actor: Actor = SYSTEM,
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
        actor=actor.person,
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
