"""Invoice PDFs with fpdf2 (pure Python: no system libraries, core fonts only)."""

from __future__ import annotations

from django.conf import settings
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from apps.core.platform_config import config_get

from .models import Invoice, InvoiceStatus

# ISO 4217 currencies without minor units (Stripe's list of zero-decimal currencies).
ZERO_DECIMAL = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)


def money(cents: int, currency: str) -> str:
    code = (currency or "").upper()
    if currency.lower() in ZERO_DECIMAL:
        return f"{code} {cents:,}"
    sign = "-" if cents < 0 else ""
    return f"{sign}{code} {abs(cents) // 100:,}.{abs(cents) % 100:02d}"


def _latin1(text: str) -> str:
    """The PDF core fonts cover Latin-1; anything else is shown as '?' rather than failing."""
    return (text or "").encode("latin-1", "replace").decode("latin-1")


def _date(value) -> str:
    return value.strftime("%Y-%m-%d") if value else ""


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice as a one-or-more page A4 PDF: seller, number, dates, customer, lines, totals."""
    seller = config_get("billing.seller_name")
    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(f"Invoice {invoice.number}"))
    pdf.set_author(_latin1(seller))
    pdf.set_creation_date(invoice.issued_at or invoice.created_at)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    line = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT}

    pdf.set_font("Helvetica", "B", 20)
    pdf.cell(0, 10, _latin1(seller), **line)
    pdf.set_font("Helvetica", "", 9)
    for address_line in settings.BILLING_SELLER_ADDRESS.split("\n"):
        if address_line.strip():
            pdf.cell(0, 5, _latin1(address_line.strip()), **line)
    pdf.ln(6)

    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 8, _latin1(f"Invoice {invoice.number}"), **line)
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(0, 6, f"Issued: {_date(invoice.issued_at)}", **line)
    if invoice.period_start and invoice.period_end:
        pdf.cell(
            0, 6, f"Period: {_date(invoice.period_start)} to {_date(invoice.period_end)}", **line
        )
    status = "Paid"
    if invoice.status == InvoiceStatus.REFUNDED:
        status = "Refunded"
    elif invoice.amount_refunded_cents:
        status = f"Paid, {money(invoice.amount_refunded_cents, invoice.currency)} refunded"
    pdf.cell(0, 6, _latin1(f"Status: {status}"), **line)
    pdf.ln(4)

    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(0, 6, "Billed to", **line)
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(0, 6, _latin1(invoice.bill_to_name), **line)
    if invoice.bill_to_email:
        pdf.cell(0, 6, _latin1(invoice.bill_to_email), **line)
    pdf.ln(6)

    widths = (100, 20, 35, 35)
    pdf.set_font("Helvetica", "B", 10)
    pdf.set_fill_color(235, 238, 242)
    for width, title, align in zip(
        widths, ("Description", "Qty", "Unit price", "Amount"), "LRRR", strict=True
    ):
        pdf.cell(width, 8, title, border="B", align=align, fill=True)
    pdf.ln(8)
    pdf.set_font("Helvetica", "", 10)
    for item in invoice.lines.all():
        cells = (
            _latin1(item.description)[:60],
            str(item.quantity),
            money(item.unit_amount_cents, invoice.currency),
            money(item.amount_cents, invoice.currency),
        )
        for width, text, align in zip(widths, cells, "LRRR", strict=True):
            pdf.cell(width, 7, text, align=align)
        pdf.ln(7)
    pdf.ln(3)

    def total_row(label: str, cents: int, bold: bool = False) -> None:
        pdf.set_font("Helvetica", "B" if bold else "", 10)
        pdf.cell(sum(widths[:3]), 7, label, align="R")
        pdf.cell(widths[3], 7, money(cents, invoice.currency), align="R", **line)

    total_row("Subtotal", invoice.subtotal_cents)
    if invoice.discount_cents:
        total_row("Discount", -invoice.discount_cents)
    if invoice.tax_cents:
        total_row("Tax", invoice.tax_cents)
    total_row("Total", invoice.total_cents, bold=True)
    if invoice.amount_refunded_cents:
        total_row("Refunded", -invoice.amount_refunded_cents)
    return bytes(pdf.output())
