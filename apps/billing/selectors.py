"""Reads of the billing app: catalogue, a tenant's account, credits, invoices, and the operator's
financial figures. Tenant-scoped reads take the tenant and never return another tenant's rows."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from apps.tenants.models import Role
from apps.tenants.roles import role_at_least
from apps.tenants.selectors import LimitUsage, tenant_usage

from .models import (
    LIMIT_FIELDS,
    BillingAccount,
    CreditBucket,
    CreditBundle,
    CreditEntry,
    Interval,
    Invoice,
    InvoiceStatus,
    Plan,
    StripePrice,
    SubscriptionStatus,
    Transaction,
)

FREE_PLAN_SLUG = "free"


# --- Catalogue ------------------------------------------------------------------------------


def plan_free() -> Plan:
    """The system plan new tenants start on; made on first use if a migration's row is gone."""
    plan = Plan.objects.filter(is_system=True).first()
    if plan is not None:
        return plan
    try:
        with transaction.atomic():
            return Plan.objects.create(name="Free", slug=FREE_PLAN_SLUG, is_system=True)
    except IntegrityError:
        return Plan.objects.get(is_system=True)


def plans_public() -> QuerySet[Plan]:
    """What tenants may choose: public, not archived."""
    return Plan.objects.filter(is_public=True, is_archived=False)


def plan_get_public(ident: str) -> Plan | None:
    """A public plan by id or slug."""
    try:
        return plans_public().filter(pk=uuid.UUID(str(ident))).first()
    except ValueError:
        return plans_public().filter(slug=str(ident)).first()


def bundles_active() -> QuerySet[CreditBundle]:
    return CreditBundle.objects.filter(is_active=True)


def bundle_get_active(ident: str) -> CreditBundle | None:
    try:
        return bundles_active().filter(pk=uuid.UUID(str(ident))).first()
    except ValueError:
        return None


def stripe_price_current(
    *, plan: Plan | None = None, bundle: CreditBundle | None = None, interval: str = ""
) -> StripePrice | None:
    prices = StripePrice.objects.filter(active=True, interval=interval)
    prices = prices.filter(plan=plan) if plan is not None else prices.filter(bundle=bundle)
    return prices.order_by("-created_at").first()


def plan_for_stripe_price(price_id: str) -> tuple[Plan | None, str]:
    """The plan and interval a Stripe price (current or retired) was made for."""
    price = StripePrice.objects.select_related("plan").filter(stripe_price_id=price_id).first()
    if price is None or price.plan is None:
        return None, ""
    return price.plan, price.interval


def plan_lifting_limit(name: str, above: int | None) -> Plan | None:
    """The cheapest public plan whose limit `name` is higher than `above` (or unlimited)."""
    field = LIMIT_FIELDS.get(name)
    if field is None or above is None:
        return None
    return (
        plans_public()
        .filter(Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gt": above}))
        .order_by("monthly_price_cents", "sort_order")
        .first()
    )


# --- A tenant's account ---------------------------------------------------------------------


def billing_account_for_tenant(tenant) -> BillingAccount | None:
    return BillingAccount.objects.select_related("plan").filter(tenant=tenant).first()


def may_buy(*, account: BillingAccount, role: str | None) -> bool:
    """Who may buy, open the portal and cancel: the owner, and admins when the owner allows it
    (`admins_can_buy`). The services refuse anyone else; pages offer them no such button."""
    if role_at_least(role, Role.OWNER):
        return True
    return account.admins_can_buy and role_at_least(role, Role.ADMIN)


def billing_account_for_customer(customer_id: str) -> BillingAccount | None:
    if not customer_id:
        return None
    return (
        BillingAccount.objects.select_related("plan", "tenant")
        .filter(stripe_customer_id=customer_id)
        .first()
    )


def credit_balances(account: BillingAccount) -> dict[str, int]:
    """{"subscription": n, "purchased": n, "total": n}: sums over the ledger."""
    sums = dict.fromkeys(CreditBucket.values, 0)
    rows = (
        CreditEntry.objects.filter(account=account)
        .values("bucket")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    for row in rows:
        sums[row["bucket"]] = row["total"] or 0
    sums["total"] = sum(sums.values())
    return sums


def credit_entries_for_account(*, account: BillingAccount, filters: dict | None = None):
    filters = filters or {}
    entries = CreditEntry.objects.filter(account=account)
    if filters.get("kind"):
        entries = entries.filter(kind=filters["kind"])
    return entries


def transactions_for_account(*, account: BillingAccount, filters: dict | None = None):
    filters = filters or {}
    rows = Transaction.objects.filter(account=account).select_related("invoice")
    if filters.get("kind"):
        rows = rows.filter(kind=filters["kind"])
    return rows


def invoices_for_account(*, account: BillingAccount, filters: dict | None = None):
    """Issued invoices (numbered); open ones wait for payment at Stripe and have no number."""
    filters = filters or {}
    invoices = Invoice.objects.filter(account=account, number__isnull=False).prefetch_related(
        "lines"
    )
    if filters.get("status"):
        invoices = invoices.filter(status=filters["status"])
    return invoices


def invoice_get_for_account(*, account: BillingAccount, invoice_id) -> Invoice | None:
    try:
        invoice_id = uuid.UUID(str(invoice_id))
    except ValueError:
        return None
    return (
        invoices_for_account(account=account)
        .select_related("account__tenant")
        .filter(pk=invoice_id)
        .first()
    )


# --- The console's billing page -------------------------------------------------------------

# The limits the page shows, in this order: the plan's (LIMIT_FIELDS) plus the webhook endpoints
# monitoring limits (an operator override; plans do not set it yet).
USAGE_LIMITS = (
    "users",
    "apps",
    "processes",
    "monitors",
    "webhook_endpoints",
    "custom_domains",
    "api_requests_per_min",
    # Sizes, not counts: what each process (memory, CPU), sandbox (pids) or app (disk) gets.
    "memory_mb",
    "cpu_millicores",
    "pids",
    "disk_mb",
)
CONSOLE_INVOICES = 24  # the newest, on the page; every one is in the API


def limits_usage(*, tenant) -> list[LimitUsage]:
    """Each limit in force and what the tenant uses of it, counted by the app that owns the
    counted things (apps.tenants.usage): billing imports neither deploy nor monitoring."""
    return tenant_usage(tenant=tenant, names=USAGE_LIMITS)


def invoices_recent(*, account: BillingAccount, limit: int = CONSOLE_INVOICES) -> list[Invoice]:
    """The newest issued invoices, without their lines: one query however many there are."""
    issued = Invoice.objects.filter(account=account, number__isnull=False)
    return list(issued.order_by("-issued_at", "-pk")[:limit])


def invoices_issued_count(*, account: BillingAccount) -> int:
    return Invoice.objects.filter(account=account, number__isnull=False).count()


# --- Operator figures -----------------------------------------------------------------------

LIVE = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)


def _paying() -> QuerySet[BillingAccount]:
    """Accounts with a paid Stripe subscription that is billing (not waived, not in trial)."""
    return BillingAccount.objects.filter(
        status__in=LIVE,
        billing_waived=False,
        stripe_subscription_id__isnull=False,
        subscription_amount_cents__gt=0,
    )


def mrr_by_currency() -> dict[str, int]:
    """Monthly recurring revenue in minor units: monthly amounts plus annual ones / 12."""
    totals: dict[str, int] = defaultdict(int)
    for interval, currency, amount in _paying().values_list(
        "interval", "subscription_currency", "subscription_amount_cents"
    ):
        totals[currency] += amount if interval == Interval.MONTH else amount / 12
    return {currency: round(value) for currency, value in sorted(totals.items())}


def revenue_by_month(*, months: int = 12, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Money in (payments less refunds) per calendar month (UTC), oldest first, every month of
    the window present."""
    now = now or timezone.now()
    index = now.year * 12 + now.month - 1 - (months - 1)
    first = dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=dt.UTC)
    rows = (
        Transaction.objects.filter(occurred_at__gte=first)
        .annotate(month=TruncMonth("occurred_at", tzinfo=dt.UTC))
        .values("month", "currency")
        .annotate(total=Sum("amount_cents"))
        .order_by("month", "currency")
    )
    by_month: dict[str, dict[str, int]] = {}
    cursor = first
    while cursor <= now:
        by_month[cursor.strftime("%Y-%m")] = {}
        cursor = (cursor + dt.timedelta(days=32)).replace(day=1)
    for row in rows:
        by_month.setdefault(row["month"].strftime("%Y-%m"), {})[row["currency"]] = row["total"]
    return [{"month": month, "amounts": amounts} for month, amounts in by_month.items()]


def churn_30d(*, now: dt.datetime | None = None) -> dict[str, Any]:
    """Paid subscriptions that existed 30 days ago, and how many of them have ended since."""
    now = now or timezone.now()
    start = now - dt.timedelta(days=30)
    base = BillingAccount.objects.filter(
        subscription_started_at__lte=start,
        subscription_amount_cents__gt=0,
        billing_waived=False,
    ).filter(Q(canceled_at__isnull=True) | Q(canceled_at__gt=start))
    at_start = base.count()
    churned = base.filter(canceled_at__isnull=False, canceled_at__lte=now).count()
    return {
        "at_start": at_start,
        "churned": churned,
        "rate": round(churned / at_start, 4) if at_start else 0.0,
    }


def financial_summary(*, now: dt.datetime | None = None) -> dict[str, Any]:
    mrr = mrr_by_currency()
    counts = BillingAccount.objects.filter(stripe_subscription_id__isnull=False)
    return {
        "mrr": mrr,
        "arr": {currency: value * 12 for currency, value in mrr.items()},
        "active_subscriptions": counts.filter(
            status__in=(SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING)
        ).count(),
        "past_due_subscriptions": counts.filter(status=SubscriptionStatus.PAST_DUE).count(),
        "revenue_by_month": revenue_by_month(now=now),
        "churn_30d": churn_30d(now=now),
        "open_invoices": Invoice.objects.filter(status=InvoiceStatus.OPEN).count(),
    }
