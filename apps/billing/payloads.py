"""The invoice as billing shows it outside the app: the body of GET /api/v1/billing/invoices/{id}
and the `data` of the `invoice.paid` and `invoice.payment_failed` outbox events, one serializer
for both so the two never drift apart. Read-only rendering: it calls no service."""

from __future__ import annotations

from rest_framework import serializers

from .models import InvoiceKind, InvoiceStatus


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
