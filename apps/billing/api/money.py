"""/api/v1/billing/transactions and /invoices…: payments, refunds and invoices with their PDF
(admins and the owner)."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from apps.core.api.pagination import CursorPagination
from apps.tenants.models import Role

from .. import selectors
from ..models import Invoice, InvoiceStatus, Transaction, TransactionKind
from ..payloads import InvoiceOutput
from ..pdf import invoice_pdf
from .base import STAMP, BillingViewSet
from .examples import EXAMPLE_INVOICE
from .serializers import TransactionOutput


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
