"""/api/v1/billing/plans and /bundles: what is on offer (any member)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema

from apps.core.api.pagination import CursorPagination

from .. import selectors
from .base import STAMP, BillingViewSet
from .examples import EXAMPLE_PLAN
from .serializers import BundleOutput, PlanOutput


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
