"""Output serializers of the billing API (the invoice's, shared with the outbox events, is
in apps/billing/payloads.py)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.tenants.selectors import tenant_limits

from .. import selectors
from ..models import (
    CreditBucket,
    CreditKind,
    CreditResetPolicy,
    Plan,
    SubscriptionStatus,
    TransactionKind,
)


class PlanOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    slug = serializers.CharField()
    description = serializers.CharField()
    monthly_price_cents = serializers.IntegerField()
    annual_price_cents = serializers.IntegerField()
    annual_discount_pct = serializers.IntegerField()
    currency = serializers.CharField()
    credits_per_month = serializers.IntegerField()
    credit_reset_policy = serializers.ChoiceField(choices=CreditResetPolicy.choices)
    bonus_credits = serializers.IntegerField()
    entitlements = serializers.SerializerMethodField(
        help_text="Limits by name: counts (users, apps, processes, monitors, custom_domains, "
        "api_requests_per_min; null means unlimited) and sandbox sizes (memory_mb and "
        "cpu_millicores per process, pids per sandbox, disk_mb per app; null means the "
        "operator's default)."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_entitlements(self, plan: Plan) -> dict[str, int | None]:
        return plan.entitlements()


class CreditsOutput(serializers.Serializer):
    subscription = serializers.IntegerField(help_text="Monthly grants and bonuses left.")
    purchased = serializers.IntegerField(help_text="Bought (and operator-granted) credits left.")
    total = serializers.IntegerField()


class AccountOutput(serializers.Serializer):
    id = serializers.UUIDField()
    plan = PlanOutput()
    status = serializers.ChoiceField(choices=SubscriptionStatus.choices)
    interval = serializers.CharField(help_text="month, year, or empty on the free plan.")
    billing_waived = serializers.BooleanField()
    admins_can_buy = serializers.BooleanField()
    has_payment_account = serializers.SerializerMethodField()
    current_period_start = serializers.DateTimeField(allow_null=True)
    current_period_end = serializers.DateTimeField(allow_null=True)
    cancel_at_period_end = serializers.BooleanField()
    canceled_at = serializers.DateTimeField(allow_null=True)
    trial_end = serializers.DateTimeField(allow_null=True)
    past_due_since = serializers.DateTimeField(allow_null=True)
    credits = serializers.SerializerMethodField()
    limits = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_has_payment_account(self, account) -> bool:
        return bool(account.stripe_customer_id)

    @extend_schema_field(CreditsOutput)
    def get_credits(self, account) -> dict[str, int]:
        return selectors.credit_balances(account)

    def get_limits(self, account) -> dict[str, int | None]:
        return tenant_limits(account.tenant)


class BundleOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    credits = serializers.IntegerField()
    price_cents = serializers.IntegerField()
    currency = serializers.CharField()
    sort_order = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class CreditEntryOutput(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=CreditKind.choices)
    bucket = serializers.ChoiceField(choices=CreditBucket.choices)
    amount = serializers.IntegerField(help_text="Positive adds credits, negative takes them.")
    balance_after = serializers.IntegerField()
    description = serializers.CharField()
    created_at = serializers.DateTimeField()


class TransactionOutput(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=TransactionKind.choices)
    amount_cents = serializers.IntegerField(help_text="Refunds are negative.")
    currency = serializers.CharField()
    description = serializers.CharField()
    invoice_id = serializers.UUIDField(allow_null=True)
    invoice_number = serializers.CharField(source="invoice.number", allow_null=True, default=None)
    occurred_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
