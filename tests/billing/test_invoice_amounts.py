"""Invoice figures from Stripe: discounts are not taxes, line unit prices are not guessed."""

import io

import pytest
from pypdf import PdfReader

from apps.billing import services
from apps.billing.models import Invoice

from .factories import bundle_synced

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(world):
    account = services.billing_account_ensure(tenant=world["tenant_a"])
    account.stripe_customer_id = "cus_amounts"
    account.save()
    return account


def _stripe_invoice(invoice_id: str, **fields) -> dict:
    """An invoice in the pinned API version's shape: total_taxes, total_discount_amounts."""
    return {
        "id": invoice_id,
        "object": "invoice",
        "customer": "cus_amounts",
        "currency": "usd",
        "status": "paid",
        "subtotal": 2900,
        "lines": {"data": [{"description": "Pro", "amount": 2900, "quantity": 1}]},
        **fields,
    }


def _pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def _balanced(invoice: Invoice) -> bool:
    return (
        invoice.subtotal_cents - invoice.discount_cents + invoice.tax_cents == invoice.total_cents
    )


def test_a_coupon_is_a_discount_not_a_negative_tax(account, webhook, client_for, world):
    webhook(
        "invoice.paid",
        _stripe_invoice(
            "in_half",
            total=1450,
            amount_paid=1450,
            subtotal_excluding_tax=2900,
            total_excluding_tax=1450,
            total_taxes=[],
            total_discount_amounts=[{"amount": 1450, "discount": "di_half"}],
        ),
    )
    invoice = Invoice.objects.get(stripe_invoice_id="in_half")
    assert (invoice.subtotal_cents, invoice.discount_cents, invoice.tax_cents) == (2900, 1450, 0)
    assert invoice.total_cents == 1450 and _balanced(invoice)

    client = client_for(world["alice"], world["tenant_a"])
    detail = client.get(f"/api/v1/billing/invoices/{invoice.pk}").json()
    assert detail["discount_cents"] == 1450 and detail["tax_cents"] == 0
    text = _pdf_text(client.get(detail["pdf_url"]).content)
    assert "Discount" in text and "-USD 14.50" in text
    assert "Tax" not in text


def test_a_discount_and_a_tax_are_both_shown(account, webhook, client_for, world):
    webhook(
        "invoice.paid",
        _stripe_invoice(
            "in_half_taxed",
            total=1740,
            amount_paid=1740,
            subtotal_excluding_tax=2900,
            total_excluding_tax=1450,
            total_taxes=[{"amount": 290, "tax_behavior": "exclusive", "taxable_amount": 1450}],
            total_discount_amounts=[{"amount": 1450, "discount": "di_half"}],
        ),
    )
    invoice = Invoice.objects.get(stripe_invoice_id="in_half_taxed")
    assert (invoice.subtotal_cents, invoice.discount_cents, invoice.tax_cents) == (2900, 1450, 290)
    assert _balanced(invoice)
    client = client_for(world["alice"], world["tenant_a"])
    text = _pdf_text(client.get(f"/api/v1/billing/invoices/{invoice.pk}/pdf").content)
    assert "-USD 14.50" in text and "USD 2.90" in text and "USD 17.40" in text


def test_a_tax_included_in_the_price_is_taken_out_of_the_subtotal(account, webhook):
    webhook(
        "invoice.paid",
        _stripe_invoice(
            "in_inclusive",
            total=2900,
            amount_paid=2900,
            subtotal_excluding_tax=2417,
            total_excluding_tax=2417,
            total_taxes=[{"amount": 483, "tax_behavior": "inclusive", "taxable_amount": 2417}],
            total_discount_amounts=[],
        ),
    )
    invoice = Invoice.objects.get(stripe_invoice_id="in_inclusive")
    assert (invoice.subtotal_cents, invoice.discount_cents, invoice.tax_cents) == (2417, 0, 483)
    assert _balanced(invoice)


def test_without_tax_figures_a_lower_total_is_a_discount(account, webhook):
    webhook("invoice.paid", _stripe_invoice("in_bare", total=1450, amount_paid=1450))
    invoice = Invoice.objects.get(stripe_invoice_id="in_bare")
    assert (invoice.discount_cents, invoice.tax_cents) == (1450, 0) and _balanced(invoice)


def test_a_discounted_bundle_checkout(account, webhook):
    bundle = bundle_synced(credits=500, price_cents=4900)
    session = {
        "id": "cs_discounted",
        "object": "checkout.session",
        "mode": "payment",
        "customer": "cus_amounts",
        "payment_status": "paid",
        "amount_subtotal": 4900,
        "amount_total": 3920,
        "total_details": {"amount_discount": 980, "amount_shipping": 0, "amount_tax": 0},
        "currency": "usd",
        "payment_intent": "pi_discounted",
        "metadata": {"quayside_account_id": str(account.pk), "quayside_bundle_id": str(bundle.pk)},
    }
    webhook("checkout.session.completed", session)
    invoice = account.invoices.get()
    assert (invoice.subtotal_cents, invoice.discount_cents, invoice.tax_cents) == (4900, 980, 0)
    assert invoice.total_cents == 3920 and _balanced(invoice)
    assert invoice.lines.get().amount_cents == 4900


def test_the_admin_shows_the_discount(account, webhook, client, superuser):
    webhook(
        "invoice.paid",
        _stripe_invoice(
            "in_admin",
            total=1450,
            amount_paid=1450,
            total_taxes=[],
            total_discount_amounts=[{"amount": 1450, "discount": "di_half"}],
        ),
    )
    invoice = Invoice.objects.get(stripe_invoice_id="in_admin")
    client.force_login(superuser)
    listing = client.get("/admin/billing/invoice/").content.decode()
    assert "USD 14.50" in listing
    page = client.get(f"/admin/billing/invoice/{invoice.pk}/change/").content.decode()
    assert "Discount cents" in page


def _line_test_invoice(invoice_id: str, lines: list[dict]) -> dict:
    total = sum(line["amount"] for line in lines)
    return _stripe_invoice(
        invoice_id,
        subtotal=total,
        total=total,
        amount_paid=total,
        total_taxes=[],
        total_discount_amounts=[],
        lines={"data": lines},
    )


def test_a_line_that_does_not_divide_is_one_unit_of_its_amount(account, webhook):
    webhook(
        "invoice.paid",
        _line_test_invoice(
            "in_thirds",
            [
                {"description": "Seats", "amount": 1000, "quantity": 3},
                {"description": "Credit", "amount": -1000, "quantity": 3},
                {"description": "Extra", "amount": 1500, "quantity": 3},
            ],
        ),
    )
    seats, credit, extra = Invoice.objects.get(stripe_invoice_id="in_thirds").lines.all()
    assert (seats.quantity, seats.unit_amount_cents, seats.amount_cents) == (1, 1000, 1000)
    assert seats.description == "Seats (quantity 3)"
    assert (credit.quantity, credit.unit_amount_cents, credit.amount_cents) == (1, -1000, -1000)
    assert (extra.quantity, extra.unit_amount_cents, extra.amount_cents) == (3, 500, 1500)
    for line in (seats, credit, extra):
        assert line.quantity * line.unit_amount_cents == line.amount_cents


def test_a_line_takes_stripe_s_unit_price_when_it_adds_up(account, webhook):
    webhook(
        "invoice.paid",
        _line_test_invoice(
            "in_priced",
            [
                {
                    "description": "Seats",
                    "amount": 1200,
                    "quantity": 4,
                    "pricing": {"type": "price_details", "unit_amount_decimal": "300"},
                },
                {  # a unit price that does not add up to the line is not shown
                    "description": "Prorated",
                    "amount": 1000,
                    "quantity": 3,
                    "pricing": {"type": "price_details", "unit_amount_decimal": "333.3333"},
                },
            ],
        ),
    )
    seats, prorated = Invoice.objects.get(stripe_invoice_id="in_priced").lines.all()
    assert (seats.quantity, seats.unit_amount_cents) == (4, 300)
    assert (prorated.quantity, prorated.unit_amount_cents, prorated.amount_cents) == (1, 1000, 1000)
