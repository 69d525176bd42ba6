"""/api/v1/billing…: a tenant's plan, checkout and portal, credits, transactions and invoices.

The tenant is the one the request is routed to (host or X-Tenant-ID). Reads of the plan and
credits: any member. Invoices and transactions: admins and the owner. Buying (checkout, portal,
cancel): the owner, and admins when the owner allows it (`admins_can_buy`)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response

from apps.core.api.pagination import CursorPagination
from apps.core.api.views import GenericViewSet
from apps.core.problems import TITLES, InvalidInput
from apps.tenants.models import Role
from apps.tenants.selectors import tenant_limits

from .. import selectors, services
from ..models import (
    BillingAccount,
    CreditBucket,
    CreditEntry,
    CreditKind,
    CreditResetPolicy,
    Interval,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Plan,
    SubscriptionStatus,
    Transaction,
    TransactionKind,
)
from ..pdf import invoice_pdf

UUID_PATTERN = "[0-9a-fA-F-]{32,36}"
BUYERS = "The owner, and admins when the owner allows it (admins_can_buy)."
STAMP = "2026-11-23T10:00:00.000000Z"


def problem_example(status_code: int, slug: str, detail: str, **extra) -> OpenApiExample:
    return OpenApiExample(
        f"{status_code} {slug}",
        value={
            "type": f"/problems/{slug}",
            "title": TITLES.get(slug, slug),
            "status": status_code,
            "detail": detail,
            "instance": "/api/v1/billing/...",
            "request_id": "3f0c1d0a6f7e4a5c9b1e2d3c4b5a6978",
            **extra,
        },
        response_only=True,
        status_codes=[str(status_code)],
    )


class InTenant(BasePermission):
    """Billing belongs to a tenant: the request must be routed to one."""

    def has_permission(self, request, view) -> bool:
        if getattr(request._request, "tenant", None) is None:
            raise InvalidInput(
                "Billing works inside a tenant: send X-Tenant-ID (slug or id) or call the "
                "tenant's host.",
                field="X-Tenant-ID",
                code="required",
            )
        return True


class BillingViewSet(GenericViewSet):
    permission_classes = [IsAuthenticated, InTenant]

    def account(self) -> BillingAccount:
        return services.billing_account_ensure(tenant=self.request.tenant)


# --- Serializers ----------------------------------------------------------------------------


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
        help_text="Limits by name (users, apps, processes, monitors, custom_domains, "
        "api_requests_per_min); null means unlimited."
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


class InvoiceLineOutput(serializers.Serializer):
    description = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_amount_cents = serializers.IntegerField()
    amount_cents = serializers.IntegerField()
    period_start = serializers.DateTimeField(allow_null=True)
    period_end = serializers.DateTimeField(allow_null=True)


class InvoiceOutput(serializers.Serializer):
    id = serializers.UUIDField()
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=InvoiceStatus.choices)
    kind = serializers.ChoiceField(choices=InvoiceKind.choices)
    currency = serializers.CharField()
    subtotal_cents = serializers.IntegerField()
    discount_cents = serializers.IntegerField(
        help_text="Coupons and credits taken off the subtotal (positive): "
        "subtotal_cents - discount_cents + tax_cents == total_cents."
    )
    tax_cents = serializers.IntegerField()
    total_cents = serializers.IntegerField()
    amount_refunded_cents = serializers.IntegerField()
    bill_to_name = serializers.CharField()
    bill_to_email = serializers.CharField()
    period_start = serializers.DateTimeField(allow_null=True)
    period_end = serializers.DateTimeField(allow_null=True)
    issued_at = serializers.DateTimeField()
    pdf_url = serializers.SerializerMethodField()
    lines = InvoiceLineOutput(many=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_pdf_url(self, invoice) -> str:
        return f"/api/v1/billing/invoices/{invoice.pk}/pdf"


# --- Examples -------------------------------------------------------------------------------

EXAMPLE_PLAN = {
    "id": "5b1f0c8e-2d4a-4e8b-9f3a-1c2d3e4f5a6b",
    "name": "Pro",
    "slug": "pro",
    "description": "For teams that ship every day.",
    "monthly_price_cents": 2900,
    "annual_price_cents": 27840,
    "annual_discount_pct": 20,
    "currency": "usd",
    "credits_per_month": 1000,
    "credit_reset_policy": "reset",
    "bonus_credits": 0,
    "entitlements": {
        "users": 10,
        "apps": 10,
        "processes": 30,
        "monitors": 50,
        "custom_domains": 10,
        "api_requests_per_min": 600,
    },
    "created_at": STAMP,
    "updated_at": STAMP,
}
EXAMPLE_ACCOUNT = {
    "id": "2c9d7a10-3b4e-4f5a-8b6c-7d8e9f0a1b2c",
    "plan": EXAMPLE_PLAN,
    "status": "active",
    "interval": "year",
    "billing_waived": False,
    "admins_can_buy": False,
    "has_payment_account": True,
    "current_period_start": "2026-01-15T00:00:00.000000Z",
    "current_period_end": "2027-01-15T00:00:00.000000Z",
    "cancel_at_period_end": False,
    "canceled_at": None,
    "trial_end": None,
    "past_due_since": None,
    "credits": {"subscription": 500, "purchased": 0, "total": 500},
    "limits": {"apps": 10, "users": 10},
    "created_at": STAMP,
    "updated_at": STAMP,
}
EXAMPLE_INVOICE = {
    "id": "7e6d5c4b-3a29-4180-9f8e-7d6c5b4a3928",
    "number": "INV-000042",
    "status": "paid",
    "kind": "subscription",
    "currency": "usd",
    "subtotal_cents": 27840,
    "discount_cents": 0,
    "tax_cents": 0,
    "total_cents": 27840,
    "amount_refunded_cents": 0,
    "bill_to_name": "Acme",
    "bill_to_email": "alice@acme.example",
    "period_start": "2026-01-15T00:00:00.000000Z",
    "period_end": "2027-01-15T00:00:00.000000Z",
    "issued_at": "2026-01-15T00:00:05.000000Z",
    "pdf_url": "/api/v1/billing/invoices/7e6d5c4b-3a29-4180-9f8e-7d6c5b4a3928/pdf",
    "lines": [
        {
            "description": "Pro (yearly)",
            "quantity": 1,
            "unit_amount_cents": 27840,
            "amount_cents": 27840,
            "period_start": "2026-01-15T00:00:00.000000Z",
            "period_end": "2027-01-15T00:00:00.000000Z",
        }
    ],
    "created_at": STAMP,
    "updated_at": STAMP,
}
FORBIDDEN_BUY = problem_example(
    403, "permission-denied", "Only the owner of this tenant may manage its billing."
)


# --- The account, checkout, portal ----------------------------------------------------------


class BillingAccountViewSet(BillingViewSet):
    """The tenant's billing account: plan, subscription state, credits and limits."""

    # A tenant suspended for an unpaid bill must still reach checkout and the portal to pay.
    # Honoured by apps.tenants.permissions.TenantMember once it reads this flag (lead TODO).
    allowed_when_suspended = True

    required_roles = {
        "retrieve": Role.VIEWER,
        "partial_update": Role.OWNER,
        "checkout": Role.ADMIN,
        "portal": Role.ADMIN,
        "cancel": Role.ADMIN,
        "resume": Role.ADMIN,
    }

    class SettingsInput(serializers.Serializer):
        admins_can_buy = serializers.BooleanField(
            help_text="Let admins buy and manage billing too (the owner always may)."
        )

    class CheckoutInput(serializers.Serializer):
        plan = serializers.CharField(
            required=False, max_length=60, help_text="A public plan's id or slug."
        )
        interval = serializers.ChoiceField(choices=Interval.choices, default=Interval.MONTH)
        bundle = serializers.UUIDField(required=False, help_text="An active credit bundle's id.")

        def validate(self, data):
            if ("plan" in data) == ("bundle" in data):
                raise serializers.ValidationError("Send either `plan` or `bundle`.")
            return data

    class CheckoutOutput(serializers.Serializer):
        checkout_url = serializers.URLField(
            allow_null=True, help_text="Send the customer here; null when activated at once."
        )
        activated = serializers.BooleanField(
            help_text="True when the plan is already active (a free plan, or waived billing)."
        )
        checkout_id = serializers.UUIDField(allow_null=True)

    class PortalOutput(serializers.Serializer):
        portal_url = serializers.URLField()

    def get_queryset(self):
        return BillingAccount.objects.none()

    @extend_schema(
        summary="Show the tenant's billing (any member)",
        responses=AccountOutput,
        examples=[OpenApiExample("Account", value=EXAMPLE_ACCOUNT, response_only=True)],
    )
    def retrieve(self, request):
        return Response(AccountOutput(self.account()).data)

    @extend_schema(
        summary="Change billing settings (the owner)",
        request=SettingsInput,
        responses=AccountOutput,
        examples=[
            OpenApiExample("Let admins buy", value={"admins_can_buy": True}, request_only=True)
        ],
    )
    def partial_update(self, request):
        data = self.SettingsInput(data=request.data)
        data.is_valid(raise_exception=True)
        account = services.billing_settings_update(
            tenant=request.tenant,
            actor=request.user,
            actor_role=request.tenant_role,
            **data.validated_data,
        )
        return Response(AccountOutput(account).data)

    @extend_schema(
        summary="Buy a plan or a credit bundle",
        description="Returns a Stripe Checkout URL. A free plan, or any plan for a tenant whose "
        "billing an operator waived, is activated at once (`activated: true`, no URL). " + BUYERS,
        request=CheckoutInput,
        responses={200: CheckoutOutput, 403: OpenApiResponse(description="Not a buyer.")},
        examples=[
            OpenApiExample(
                "Pro, yearly", value={"plan": "pro", "interval": "year"}, request_only=True
            ),
            OpenApiExample(
                "A bundle",
                value={"bundle": "3f2e1d0c-9b8a-4765-8432-10fedcba9876"},
                request_only=True,
            ),
            OpenApiExample(
                "Checkout",
                value={
                    "checkout_url": "https://checkout.stripe.com/c/pay/cs_test_a1b2c3",
                    "activated": False,
                    "checkout_id": "0d1c2b3a-4958-4a6b-8c7d-6e5f4a3b2c1d",
                },
                response_only=True,
            ),
            FORBIDDEN_BUY,
            problem_example(409, "conflict", "This tenant already has a subscription: ..."),
        ],
    )
    def checkout(self, request):
        data = self.CheckoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        plan = bundle = None
        if "plan" in data.validated_data:
            plan = selectors.plan_get_public(data.validated_data["plan"])
            if plan is None:
                raise NotFound("No such plan.")
        else:
            bundle = selectors.bundle_get_active(data.validated_data["bundle"])
            if bundle is None:
                raise NotFound("No such credit bundle.")
        result = services.checkout_start(
            tenant=request.tenant,
            actor=request.user,
            actor_role=request.tenant_role,
            plan=plan,
            bundle=bundle,
            interval=data.validated_data["interval"],
        )
        return Response(self.CheckoutOutput(result).data)

    @extend_schema(
        summary="Open the Stripe billing portal",
        description="Payment methods, invoices and plan changes at Stripe. " + BUYERS,
        request=None,
        responses=PortalOutput,
        examples=[
            OpenApiExample(
                "Portal",
                value={"portal_url": "https://billing.stripe.com/p/session/test_YWNjdF8x"},
                response_only=True,
            ),
            FORBIDDEN_BUY,
            problem_example(409, "conflict", "This tenant has never paid through Stripe: ..."),
        ],
    )
    def portal(self, request):
        url = services.portal_open(
            tenant=request.tenant, actor=request.user, actor_role=request.tenant_role
        )
        return Response(self.PortalOutput({"portal_url": url}).data)

    @extend_schema(
        summary="Cancel the subscription at the end of the period",
        description="The tenant keeps its plan until `current_period_end`. " + BUYERS,
        request=None,
        responses=AccountOutput,
        examples=[
            OpenApiExample(
                "Canceling",
                value={**EXAMPLE_ACCOUNT, "cancel_at_period_end": True},
                response_only=True,
            ),
            FORBIDDEN_BUY,
        ],
    )
    def cancel(self, request):
        account = services.subscription_cancel_at_period_end(
            tenant=request.tenant, actor=request.user, actor_role=request.tenant_role, cancel=True
        )
        return Response(AccountOutput(account).data)

    @extend_schema(
        summary="Undo a cancellation at period end",
        description=BUYERS,
        request=None,
        responses=AccountOutput,
        examples=[OpenApiExample("Resumed", value=EXAMPLE_ACCOUNT, response_only=True)],
    )
    def resume(self, request):
        account = services.subscription_cancel_at_period_end(
            tenant=request.tenant, actor=request.user, actor_role=request.tenant_role, cancel=False
        )
        return Response(AccountOutput(account).data)


class BillingConfigViewSet(GenericViewSet):
    """What a browser needs to start Stripe.js; works with or without a tenant."""

    class ConfigOutput(serializers.Serializer):
        publishable_key = serializers.CharField(help_text="Empty when Stripe is not configured.")

    @extend_schema(
        summary="Stripe publishable key",
        responses=ConfigOutput,
        examples=[
            OpenApiExample(
                "Config", value={"publishable_key": "pk_live_51Habc"}, response_only=True
            )
        ],
    )
    def config(self, request):
        return Response(
            self.ConfigOutput({"publishable_key": settings.STRIPE_PUBLISHABLE_KEY}).data
        )


# --- Catalogue ------------------------------------------------------------------------------


class CatalogueOrder(CursorPagination):
    ordering = ("sort_order", "id")


class PlanViewSet(BillingViewSet):
    pagination_class = CatalogueOrder

    def get_queryset(self):
        return selectors.plans_public()

    @extend_schema(
        summary="Plans on offer (any member)",
        responses=PlanOutput(many=True),
        examples=[OpenApiExample("Plans", value=[EXAMPLE_PLAN], response_only=True)],
    )
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(PlanOutput(page, many=True).data)


class BundleViewSet(BillingViewSet):
    pagination_class = CatalogueOrder

    def get_queryset(self):
        return selectors.bundles_active()

    @extend_schema(
        summary="Credit bundles on sale (any member)",
        responses=BundleOutput(many=True),
        examples=[
            OpenApiExample(
                "Bundles",
                value=[
                    {
                        "id": "3f2e1d0c-9b8a-4765-8432-10fedcba9876",
                        "name": "500 credits",
                        "credits": 500,
                        "price_cents": 4900,
                        "currency": "usd",
                        "sort_order": 1,
                        "created_at": STAMP,
                        "updated_at": STAMP,
                    }
                ],
                response_only=True,
            )
        ],
    )
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(BundleOutput(page, many=True).data)


# --- Credits --------------------------------------------------------------------------------


class CreditViewSet(BillingViewSet):
    required_roles = {"balance": Role.VIEWER, "entries": Role.VIEWER, "usage": Role.MEMBER}

    class UsageInput(serializers.Serializer):
        amount = serializers.IntegerField(min_value=1, max_value=1_000_000_000)
        description = serializers.CharField(max_length=200)
        reference = serializers.CharField(
            max_length=100,
            required=False,
            help_text="Your id for this usage: the same reference is never charged twice.",
        )

    class UsageOutput(serializers.Serializer):
        balance = CreditsOutput()
        replayed = serializers.BooleanField(help_text="True when `reference` was seen before.")

    class EntryFilter(serializers.Serializer):
        kind = serializers.ChoiceField(choices=CreditKind.choices, required=False)

    def get_queryset(self):
        return CreditEntry.objects.none()

    @extend_schema(
        summary="Credit balance (any member)",
        responses=CreditsOutput,
        examples=[
            OpenApiExample(
                "Balance",
                value={"subscription": 500, "purchased": 200, "total": 700},
                response_only=True,
            )
        ],
    )
    def balance(self, request):
        return Response(CreditsOutput(selectors.credit_balances(self.account())).data)

    @extend_schema(
        summary="Credit history, newest first (any member)",
        parameters=[EntryFilter],
        responses=CreditEntryOutput(many=True),
        examples=[
            OpenApiExample(
                "History",
                value=[
                    {
                        "id": "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d",
                        "kind": "grant",
                        "bucket": "subscription",
                        "amount": 1000,
                        "balance_after": 1000,
                        "description": "Pro: credits for 2026-11",
                        "created_at": STAMP,
                    }
                ],
                response_only=True,
            )
        ],
    )
    def entries(self, request):
        filters = self.EntryFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        entries = selectors.credit_entries_for_account(
            account=self.account(), filters=filters.validated_data
        )
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(CreditEntryOutput(page, many=True).data)

    @extend_schema(
        summary="Spend credits (members)",
        description="Refused with 402 `insufficient-credits` rather than going below zero.",
        request=UsageInput,
        responses={201: UsageOutput, 402: OpenApiResponse(description="Not enough credits.")},
        examples=[
            OpenApiExample(
                "Build minutes",
                value={"amount": 25, "description": "Build minutes", "reference": "build-812"},
                request_only=True,
            ),
            problem_example(
                402,
                "insufficient-credits",
                "This needs 25 credits and the tenant has 10. Buy a credit bundle or ...",
                required=25,
                balance=10,
            ),
        ],
    )
    def usage(self, request):
        data = self.UsageInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.credits_consume(
            tenant=request.tenant,
            amount=data.validated_data["amount"],
            description=data.validated_data["description"],
            key=data.validated_data.get("reference"),
            actor=request.user,
        )
        return Response(self.UsageOutput(result).data, status=status.HTTP_201_CREATED)


# --- Money ----------------------------------------------------------------------------------


class NewestFirst(CursorPagination):
    ordering = ("-occurred_at", "-id")


class IssuedNewestFirst(CursorPagination):
    ordering = ("-issued_at", "-id")


class TransactionViewSet(BillingViewSet):
    required_roles = {"list": Role.ADMIN}
    pagination_class = NewestFirst

    class TransactionFilter(serializers.Serializer):
        kind = serializers.ChoiceField(choices=TransactionKind.choices, required=False)

    def get_queryset(self):
        return Transaction.objects.none()

    @extend_schema(
        summary="Payments and refunds, newest first (admins)",
        parameters=[TransactionFilter],
        responses=TransactionOutput(many=True),
        examples=[
            OpenApiExample(
                "Transactions",
                value=[
                    {
                        "id": "6f5e4d3c-2b1a-4098-8765-4321fedcba98",
                        "kind": "subscription",
                        "amount_cents": 27840,
                        "currency": "usd",
                        "description": "Pro (yearly)",
                        "invoice_id": EXAMPLE_INVOICE["id"],
                        "invoice_number": "INV-000042",
                        "occurred_at": STAMP,
                        "created_at": STAMP,
                        "updated_at": STAMP,
                    }
                ],
                response_only=True,
            )
        ],
    )
    def list(self, request):
        filters = self.TransactionFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        rows = selectors.transactions_for_account(
            account=self.account(), filters=filters.validated_data
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(TransactionOutput(page, many=True).data)


class InvoiceViewSet(BillingViewSet):
    required_roles = {"list": Role.ADMIN, "retrieve": Role.ADMIN, "pdf": Role.ADMIN}
    pagination_class = IssuedNewestFirst
    lookup_value_regex = "[^/]+"

    class InvoiceFilter(serializers.Serializer):
        status = serializers.ChoiceField(choices=InvoiceStatus.choices, required=False)

    def get_queryset(self):
        return Invoice.objects.none()

    def _invoice(self, pk) -> Invoice:
        invoice = selectors.invoice_get_for_account(account=self.account(), invoice_id=pk)
        if invoice is None:
            raise NotFound("No such invoice.")
        return invoice

    @extend_schema(
        summary="Invoices, newest first (admins)",
        parameters=[InvoiceFilter],
        responses=InvoiceOutput(many=True),
        examples=[OpenApiExample("Invoices", value=[EXAMPLE_INVOICE], response_only=True)],
    )
    def list(self, request):
        filters = self.InvoiceFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        invoices = selectors.invoices_for_account(
            account=self.account(), filters=filters.validated_data
        )
        page = self.paginate_queryset(invoices)
        return self.get_paginated_response(InvoiceOutput(page, many=True).data)

    @extend_schema(
        summary="An invoice with its lines (admins)",
        responses=InvoiceOutput,
        examples=[OpenApiExample("Invoice", value=EXAMPLE_INVOICE, response_only=True)],
    )
    def retrieve(self, request, pk: str):
        return Response(InvoiceOutput(self._invoice(pk)).data)

    @extend_schema(
        summary="An invoice as PDF (admins)",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
    )
    def pdf(self, request, pk: str):
        invoice = self._invoice(pk)
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{invoice.number}.pdf"'
        return response
