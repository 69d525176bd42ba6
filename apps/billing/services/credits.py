"""Credits: the monthly grants, spending credits (never below zero), and operator
adjustments."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef

from apps.core.actor import SYSTEM, Actor
from apps.core.audit import audit_as
from apps.core.problems import Conflict, InvalidInput

from .. import selectors
from ..models import BillingAccount, CreditBucket, CreditEntry, CreditKind
from ._common import InsufficientCredits, _lock, _period_key
from ._ledger import _credit_write, _credits_grant_period
from .accounts import billing_account_ensure


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
    *, tenant, amount: int, description: str, key: str | None = None, actor: Actor = SYSTEM
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
def credits_adjust(
    *, account: BillingAccount, amount: int, description: str, actor: Actor
) -> CreditEntry:
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
    audit_as(
        actor,
        "credits.adjusted",
        tenant=account.tenant,
        target=account,
        amount=amount,
        description=description,
    )
    return entry
