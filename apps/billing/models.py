"""Billing data, all in the public schema: catalogue, billing accounts, Stripe state, credits
ledger, invoices and transactions. Money is integer minor units plus a currency."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from apps.core.models import TimeStampedModel
from apps.tenants.resource_limits import RESOURCE_LIMITS


class CreditResetPolicy(models.TextChoices):
    RESET = "reset"  # unused subscription credits lapse at each monthly grant
    ACCRUE = "accrue"  # unused subscription credits roll over


class Interval(models.TextChoices):
    MONTH = "month"
    YEAR = "year"


# The names a plan's limits are written under onto the tenant (Tenant.entitlements), and read
# by apps.tenants.selectors.tenant_limit(tenant, name). None means "no limit".
LIMIT_FIELDS = {
    "users": "user_limit",
    "apps": "max_apps",
    "processes": "max_processes",
    "monitors": "max_monitors",
    "custom_domains": "max_custom_domains",
    "api_requests_per_min": "api_rate_limit_per_min",
    # Sizes of the sandbox (apps.tenants.resource_limits): empty means the operator's default.
    "memory_mb": "memory_mb",
    "cpu_millicores": "cpu_millicores",
    "pids": "pids",
    "disk_mb": "disk_mb",
    # Add-ons (apps/addons/): sizes and backups kept; empty means the operator's default.
    "addon_postgres_mb": "addon_postgres_mb",
    "addon_redis_mb": "addon_redis_mb",
    "addon_backups_kept": "addon_backups_kept",
}


def _resource_field(name: str, help_text: str) -> models.PositiveIntegerField:
    limit = RESOURCE_LIMITS[name]
    return models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(limit.minimum), MaxValueValidator(limit.maximum)],
        help_text=f"{help_text} ({limit.minimum} to {limit.maximum}). Empty: the operator's "
        f"default ({limit.setting}).",
    )


class Plan(TimeStampedModel):
    """A subscription plan. The system plan (`free`) exists always and cannot be removed."""

    # Optimistic locking (apps/core/versioning.py): moved by every edit, not by state changes.
    version = models.PositiveIntegerField(default=1, editable=False)
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=50, unique=True)
    description = models.TextField(blank=True)
    monthly_price_cents = models.PositiveIntegerField(default=0)
    currency = models.CharField(max_length=3, default="usd")
    annual_discount_pct = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(100)]
    )
    credits_per_month = models.PositiveIntegerField(default=0)
    credit_reset_policy = models.CharField(
        max_length=10, choices=CreditResetPolicy.choices, default=CreditResetPolicy.RESET
    )
    # Granted once, when a tenant first moves onto the plan.
    bonus_credits = models.PositiveIntegerField(default=0)
    # Entitlements: empty means unlimited.
    user_limit = models.PositiveIntegerField(null=True, blank=True)
    max_apps = models.PositiveIntegerField(null=True, blank=True)
    max_processes = models.PositiveIntegerField(null=True, blank=True)
    max_monitors = models.PositiveIntegerField(null=True, blank=True)
    max_custom_domains = models.PositiveIntegerField(null=True, blank=True)
    api_rate_limit_per_min = models.PositiveIntegerField(null=True, blank=True)
    # What each app gets in its sandbox (docs/billing.md, "Resource limits").
    memory_mb = _resource_field("memory_mb", "Memory per process, MB")
    cpu_millicores = _resource_field("cpu_millicores", "CPU per process, millicores (1000: a core)")
    pids = _resource_field("pids", "Processes and threads per sandbox")
    disk_mb = _resource_field("disk_mb", "Disk per app (builds, releases, home), MB")
    addon_postgres_mb = _resource_field("addon_postgres_mb", "Size of each PostgreSQL add-on, MB")
    addon_redis_mb = _resource_field("addon_redis_mb", "Memory of each Redis add-on, MB")
    addon_backups_kept = _resource_field("addon_backups_kept", "Backups kept per add-on")
    is_public = models.BooleanField(default=True, help_text="Offered to tenants for checkout.")
    is_archived = models.BooleanField(default=False, help_text="No new subscriptions.")
    is_system = models.BooleanField(default=False, editable=False)
    sort_order = models.PositiveSmallIntegerField(default=0)
    stripe_product_id = models.CharField(max_length=255, blank=True)
    stripe_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("sort_order", "monthly_price_cents", "name")
        constraints = [
            models.UniqueConstraint(
                fields=["is_system"], condition=Q(is_system=True), name="plan_one_system"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_free(self) -> bool:
        return self.monthly_price_cents == 0

    @property
    def annual_price_cents(self) -> int:
        """Twelve months less the annual discount, rounded half up to a cent."""
        return (self.monthly_price_cents * 12 * (100 - self.annual_discount_pct) + 50) // 100

    def price_cents(self, interval: str) -> int:
        return self.annual_price_cents if interval == Interval.YEAR else self.monthly_price_cents

    def entitlements(self) -> dict[str, int | None]:
        return {name: getattr(self, field) for name, field in LIMIT_FIELDS.items()}


class CreditBundle(TimeStampedModel):
    name = models.CharField(max_length=100, unique=True)
    credits = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    price_cents = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    currency = models.CharField(max_length=3, default="usd")
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)
    stripe_product_id = models.CharField(max_length=255, blank=True)
    stripe_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("sort_order", "price_cents", "name")

    def __str__(self) -> str:
        return self.name


class StripePrice(models.Model):
    """A Stripe price we created for a plan (per interval) or a bundle (one-time). Prices are
    immutable at Stripe: a new amount makes a new row and deactivates the old one, which stays
    so that subscriptions still on it map back to their plan."""

    stripe_price_id = models.CharField(max_length=255, unique=True)
    plan = models.ForeignKey(
        Plan, null=True, blank=True, on_delete=models.CASCADE, related_name="stripe_prices"
    )
    bundle = models.ForeignKey(
        CreditBundle, null=True, blank=True, on_delete=models.CASCADE, related_name="stripe_prices"
    )
    interval = models.CharField(max_length=10, blank=True)  # month | year | "" (one-time)
    unit_amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(plan__isnull=False) ^ Q(bundle__isnull=False),
                name="stripeprice_plan_xor_bundle",
            )
        ]

    def __str__(self) -> str:
        return self.stripe_price_id


class SubscriptionStatus(models.TextChoices):
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"
    UNPAID = "unpaid"


class BillingAccount(TimeStampedModel):
    """A tenant's billing state: its plan, the Stripe customer and subscription, dunning."""

    tenant = models.OneToOneField(
        settings.TENANT_MODEL, on_delete=models.PROTECT, related_name="billing_account"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="accounts")
    status = models.CharField(
        max_length=10,
        choices=SubscriptionStatus.choices,
        default=SubscriptionStatus.ACTIVE,
        db_index=True,
    )
    interval = models.CharField(max_length=10, choices=Interval.choices, blank=True)
    # Operator waiver: any plan activates without Stripe and nothing is charged.
    billing_waived = models.BooleanField(default=False)
    # Tenant setting: admins may buy (checkout and portal) besides the owner.
    admins_can_buy = models.BooleanField(default=False)
    stripe_customer_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    stripe_subscription_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    # What the subscription charges per interval (from its Stripe price), for MRR.
    subscription_amount_cents = models.PositiveIntegerField(null=True, blank=True)
    subscription_currency = models.CharField(max_length=3, blank=True)
    subscription_started_at = models.DateTimeField(null=True, blank=True)
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    canceled_at = models.DateTimeField(null=True, blank=True)
    trial_end = models.DateTimeField(null=True, blank=True)
    # Stripe `created` of the newest subscription event applied: an older one never overwrites.
    subscription_state_at = models.DateTimeField(null=True, blank=True)
    past_due_since = models.DateTimeField(null=True, blank=True)
    suspended_by_billing = models.BooleanField(default=False)
    # Bumped on every Stripe write, so idempotency keys differ between deliberate repeats.
    stripe_write_seq = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"billing of {self.tenant_id}"

    @property
    def is_paid_subscription(self) -> bool:
        return bool(self.stripe_subscription_id) and self.status != SubscriptionStatus.CANCELED


class CheckoutSession(TimeStampedModel):
    """A Checkout we opened; its id makes the Stripe idempotency key and maps the completion."""

    class Status(models.TextChoices):
        OPEN = "open"
        COMPLETED = "completed"

    account = models.ForeignKey(BillingAccount, on_delete=models.CASCADE, related_name="checkouts")
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.PROTECT)
    bundle = models.ForeignKey(CreditBundle, null=True, blank=True, on_delete=models.PROTECT)
    interval = models.CharField(max_length=10, blank=True)
    stripe_session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    url = models.URLField(max_length=2000, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)


class EventStatus(models.TextChoices):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    IGNORED = "ignored"


class StripeEvent(models.Model):
    """A webhook delivery as received (raw payload), unique by Stripe's event id."""

    id = models.BigAutoField(primary_key=True)
    stripe_event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    api_version = models.CharField(max_length=40, blank=True)
    livemode = models.BooleanField(default=False)
    stripe_created = models.DateTimeField()
    customer_id = models.CharField(max_length=255, blank=True, db_index=True)
    object_id = models.CharField(max_length=255, blank=True)
    payload = models.JSONField()
    status = models.CharField(
        max_length=12, choices=EventStatus.choices, default=EventStatus.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-received_at",)

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_event_id}"


class CreditKind(models.TextChoices):
    GRANT = "grant"
    PURCHASE = "purchase"
    USAGE = "usage"
    RESET = "reset"
    EXPIRY = "expiry"
    ADJUSTMENT = "adjustment"


class CreditBucket(models.TextChoices):
    SUBSCRIPTION = "subscription"  # monthly grants and bonuses: may reset or expire
    PURCHASED = "purchased"  # bundles and operator grants: kept until used


class CreditEntry(models.Model):
    """One movement of credits. Append-only (a database trigger refuses UPDATE and DELETE); the
    balance is the sum of `amount`, per bucket and in total. `balance_after` is the account's
    total after this entry (entries are written under the account's row lock)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, related_name="credit_entries"
    )
    kind = models.CharField(max_length=12, choices=CreditKind.choices)
    bucket = models.CharField(max_length=12, choices=CreditBucket.choices)
    amount = models.IntegerField()
    balance_after = models.IntegerField()
    description = models.CharField(max_length=200, blank=True)
    # Makes a write happen once: "grant:<account>:2026-11", "purchase:<checkout session>", ...
    idempotency_key = models.CharField(max_length=255, unique=True, null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name_plural = "credit entries"
        indexes = [models.Index(fields=["account", "-created_at"], name="credit_account_time")]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount:+d}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Credit entries are append-only.")
        super().save(*args, **kwargs)


class InvoiceStatus(models.TextChoices):
    OPEN = "open"  # finalized at Stripe, not paid yet: no number
    PAID = "paid"
    REFUNDED = "refunded"
    VOID = "void"


class InvoiceKind(models.TextChoices):
    SUBSCRIPTION = "subscription"
    BUNDLE = "bundle"


class Invoice(TimeStampedModel):
    """Our own invoice. `number` is given when it is issued (paid), from InvoiceCounter in the
    same transaction, so numbers have no gaps."""

    account = models.ForeignKey(BillingAccount, on_delete=models.PROTECT, related_name="invoices")
    number = models.CharField(max_length=32, unique=True, null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=InvoiceStatus.choices, default=InvoiceStatus.OPEN
    )
    kind = models.CharField(max_length=12, choices=InvoiceKind.choices)
    currency = models.CharField(max_length=3)
    # subtotal_cents - discount_cents + tax_cents == total_cents (a discount is not a tax).
    subtotal_cents = models.IntegerField(default=0)
    discount_cents = models.IntegerField(default=0)
    tax_cents = models.IntegerField(default=0)
    total_cents = models.IntegerField(default=0)
    amount_refunded_cents = models.PositiveIntegerField(default=0)
    # Who was billed, as it was when issued.
    bill_to_name = models.CharField(max_length=200, blank=True)
    bill_to_email = models.CharField(max_length=254, blank=True)
    stripe_invoice_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    stripe_checkout_session_id = models.CharField(
        max_length=255, unique=True, null=True, blank=True
    )
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_charge_id = models.CharField(max_length=255, blank=True, db_index=True)
    hosted_invoice_url = models.URLField(max_length=2000, blank=True)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return self.number or f"draft {self.pk}"


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    description = models.CharField(max_length=300)
    quantity = models.PositiveIntegerField(default=1)
    unit_amount_cents = models.IntegerField()
    amount_cents = models.IntegerField()
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("position", "id")

    def __str__(self) -> str:
        return self.description


class InvoiceCounter(models.Model):
    """The last invoice number given, one row per sequence, locked FOR UPDATE while issuing."""

    name = models.CharField(max_length=30, primary_key=True)
    value = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class TransactionKind(models.TextChoices):
    SUBSCRIPTION = "subscription"
    PURCHASE = "purchase"
    REFUND = "refund"


class Transaction(TimeStampedModel):
    """Money that moved: a paid subscription invoice, a bundle purchase, a refund (negative)."""

    account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, related_name="transactions"
    )
    kind = models.CharField(max_length=12, choices=TransactionKind.choices, db_index=True)
    amount_cents = models.IntegerField()
    currency = models.CharField(max_length=3)
    description = models.CharField(max_length=300)
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="transactions"
    )
    # Makes it happen once: the Stripe invoice, the checkout session, "<charge>:<refunded total>".
    stripe_ref = models.CharField(max_length=255, unique=True)
    occurred_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ("-occurred_at", "-id")

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_cents} {self.currency}"
