"""/api/v1/billing, /checkout, /portal, /subscription/{cancel,resume}, /config: the tenant's
billing account and buying. Reading it: any member. Settings: the owner. Buying (checkout,
portal, cancel): the owner, and admins when the owner allows it (`admins_can_buy`)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from apps.core.actor import Actor
from apps.core.api.views import GenericViewSet
from apps.tenants.models import Role

from .. import selectors, services
from ..models import BillingAccount, Interval
from .base import BUYERS, BillingViewSet, problem_example
from .examples import EXAMPLE_ACCOUNT, FORBIDDEN_BUY
from .serializers import AccountOutput


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
            actor=Actor.from_request(request),
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
            actor=Actor.from_request(request),
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
        url = services.portal_open(tenant=request.tenant, actor=Actor.from_request(request))
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
            tenant=request.tenant, actor=Actor.from_request(request), cancel=True
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
            tenant=request.tenant, actor=Actor.from_request(request), cancel=False
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
