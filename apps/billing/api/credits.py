"""/api/v1/billing/credits…: the balance and history (any member), and spending (members)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from apps.core.actor import Actor
from apps.tenants.models import Role

from .. import selectors, services
from ..models import CreditEntry, CreditKind
from .base import STAMP, BillingViewSet, problem_example
from .serializers import CreditEntryOutput, CreditsOutput


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
            actor=Actor.from_request(request),
        )
        return Response(self.UsageOutput(result).data, status=status.HTTP_201_CREATED)
