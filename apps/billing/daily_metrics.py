"""The operator dashboard's MRR per currency (a collector of apps.core.daily_metrics).

MRR as billing's own dashboard counts it (selectors.mrr_by_currency): paid Stripe subscriptions,
not waived, monthly amounts plus annual ones / 12, in major units. For a past day (a backfill)
the same accounts are taken as they were at the day's end by their start and cancel dates, at
today's price: an estimate, since a price or status change is not kept as history. The beat task
writes today's figure every hour, so from then on each day holds what was true that day."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Q
from django.utils import timezone

from apps.core.daily_metrics import day_bounds, register_daily_metric

from .models import BillingAccount, Interval, Plan, SubscriptionStatus

LIVE = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)


def mrr_on(day: dt.date) -> dict[str, float]:
    """{currency: MRR in major units} at the end of `day` (now, for today). One query."""
    _start, end = day_bounds(day)
    at = min(end, timezone.now())
    rows = (
        BillingAccount.objects.filter(
            billing_waived=False,
            stripe_subscription_id__isnull=False,
            subscription_amount_cents__gt=0,
        )
        .filter(Q(subscription_started_at__isnull=True) | Q(subscription_started_at__lt=at))
        .filter(Q(status__in=LIVE) | Q(canceled_at__gt=at))
        .values_list("interval", "subscription_currency", "subscription_amount_cents")
    )
    totals: dict[str, float] = defaultdict(float)
    for interval, currency, cents in rows:
        totals[currency or "usd"] += cents if interval != Interval.YEAR else cents / 12
    if not totals:  # nobody pays yet: a zero in the plans' default currency, not a gap
        totals[Plan._meta.get_field("currency").get_default()] = 0
    return {currency: round(cents / 100, 2) for currency, cents in sorted(totals.items())}


def register() -> None:
    register_daily_metric("mrr", mrr_on, title="MRR", unit="per month", kind="line", order=20)
