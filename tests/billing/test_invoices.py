"""Our invoices from paid Stripe invoices: numbers, lines, totals, API, PDF, refunds."""

import io

import pytest
from pypdf import PdfReader

from apps.billing import services
from apps.billing.models import Invoice, InvoiceStatus, Transaction

from .factories import plan_synced, subscription_start

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(world, sdk, webhook):
    """alpha pays Pro monthly at (local)Stripe; invoice.paid delivered and processed."""
    plan = plan_synced()
    account = services.billing_account_ensure(tenant=world["tenant_a"])
    subscription = subscription_start(sdk, account, plan)
    webhook("customer.subscription.created", subscription)
    stripe_invoice = sdk.v1.invoices.list(params={"customer": subscription["customer"]}).data[0]
    stripe_invoice = stripe_invoice.to_dict()
    webhook("invoice.paid", stripe_invoice)
    return {"account": account, "stripe_invoice": stripe_invoice, "plan": plan}


def test_a_paid_stripe_invoice_becomes_our_numbered_invoice(paid):
    invoice = Invoice.objects.get(stripe_invoice_id=paid["stripe_invoice"]["id"])
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.number.startswith("INV-") and len(invoice.number) == 10
    assert invoice.total_cents == 2900 and invoice.currency == "usd"
    assert invoice.bill_to_name == "Alpha" and invoice.bill_to_email == "alice@example.com"
    line = invoice.lines.get()
    assert line.description == "Pro" and line.amount_cents == 2900 and line.period_end
    assert invoice.stripe_charge_id.startswith("ch_")
    transaction = Transaction.objects.get(invoice=invoice)
    assert transaction.kind == "subscription" and transaction.amount_cents == 2900


def test_a_repeated_invoice_paid_event_issues_nothing_new(paid, webhook):
    webhook("invoice.paid", paid["stripe_invoice"])
    assert Invoice.objects.count() == 1 and Transaction.objects.count() == 1


def test_finalized_then_paid_numbers_only_when_paid(world, webhook):
    account = services.billing_account_ensure(tenant=world["tenant_a"])
    account.stripe_customer_id = "cus_fin"
    account.save()
    obj = {
        "id": "in_fin",
        "object": "invoice",
        "customer": "cus_fin",
        "currency": "usd",
        "subtotal": 1000,
        "total": 1100,
        "amount_paid": 0,
        "lines": {"data": [{"description": "Pro", "amount": 1000, "quantity": 1}]},
    }
    webhook("invoice.finalized", obj)
    invoice = Invoice.objects.get(stripe_invoice_id="in_fin")
    assert invoice.status == InvoiceStatus.OPEN and invoice.number is None
    assert invoice.tax_cents == 100
    webhook("invoice.paid", {**obj, "amount_paid": 1100, "status": "paid"})
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.number


def test_zero_amount_invoices_get_no_number(world, webhook):
    account = services.billing_account_ensure(tenant=world["tenant_a"])
    account.stripe_customer_id = "cus_zero"
    account.save()
    webhook("invoice.paid", {"id": "in_zero", "customer": "cus_zero", "amount_paid": 0})
    assert not Invoice.objects.filter(number__isnull=False).exists()


def test_invoice_list_detail_and_pdf(client_for, world, paid):
    client = client_for(world["alice"], world["tenant_a"])
    listed = client.get("/api/v1/billing/invoices")
    assert listed.status_code == 200
    (item,) = listed.json()["results"]
    detail = client.get(f"/api/v1/billing/invoices/{item['id']}").json()
    assert detail["number"] == item["number"] and detail["total_cents"] == 2900
    assert detail["lines"][0]["amount_cents"] == 2900

    response = client.get(item["pdf_url"])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert item["number"] in text
    assert "USD 29.00" in text

    transactions = client.get("/api/v1/billing/transactions").json()["results"]
    assert transactions[0]["invoice_number"] == item["number"]


def test_another_tenants_invoice_is_not_found(client_for, world, paid):
    invoice = Invoice.objects.get()
    bob = client_for(world["bob"], world["tenant_b"])
    for path in (
        f"/api/v1/billing/invoices/{invoice.pk}",
        f"/api/v1/billing/invoices/{invoice.pk}/pdf",
    ):
        response = bob.get(path)
        assert response.status_code == 404
        assert response.json()["type"] == "/problems/not-found"
    assert bob.get("/api/v1/billing/invoices").json()["results"] == []
    assert bob.get("/api/v1/billing/transactions").json()["results"] == []
    # alice, sending bravo's header, is not a member there: 404 for the tenant itself.
    assert client_for(world["alice"], world["tenant_b"]).get("/api/v1/billing").status_code == 404


def test_invoices_are_for_admins_and_the_owner(client_for, world, paid, django_user_model):
    from apps.tenants.models import Membership

    member = django_user_model.objects.create_user(username="m@x", email="m@x", password="x")
    Membership.objects.create(tenant=world["tenant_a"], user=member, role="member")
    client = client_for(member, world["tenant_a"])
    assert client.get("/api/v1/billing/invoices").status_code == 403
    assert client.get("/api/v1/billing/transactions").status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/billing",
        "/api/v1/billing/plans",
        "/api/v1/billing/bundles",
        "/api/v1/billing/credits",
        "/api/v1/billing/credits/entries",
        "/api/v1/billing/invoices",
        "/api/v1/billing/transactions",
        "/api/v1/billing/config",
    ],
)
def test_every_endpoint_needs_credentials(api_client, world, path):
    response = api_client.get(path, HTTP_X_TENANT_ID="alpha")
    # An anonymous caller cannot see that the tenant exists (404); without one, 401.
    assert response.status_code == 404
    response = api_client.get(path)
    assert response.status_code == 401
    assert response.json()["type"] == "/problems/not-authenticated"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/billing/checkout",
        "/api/v1/billing/portal",
        "/api/v1/billing/subscription/cancel",
        "/api/v1/billing/subscription/resume",
        "/api/v1/billing/credits/usage",
    ],
)
def test_every_write_needs_credentials(api_client, path):
    response = api_client.post(path, {})
    assert response.status_code == 401


def test_tenant_endpoints_need_a_tenant(client_for, world):
    response = client_for(world["alice"]).get("/api/v1/billing")
    assert response.status_code == 404
    assert "X-Tenant-ID" in response.json()["detail"]


def test_malformed_invoice_ids_answer_404(client_for, world):
    client = client_for(world["alice"], world["tenant_a"])
    response = client.get("/api/v1/billing/invoices/not-a-uuid")
    assert response.status_code == 404


def test_a_refund_is_a_negative_transaction_and_marks_the_invoice(paid, webhook, sdk):
    invoice = Invoice.objects.get()
    charge = paid["stripe_invoice"]["charge"]
    partial = {**charge, "amount_refunded": 900, "refunded": False}
    webhook("charge.refunded", partial)
    webhook("charge.refunded", partial)  # again: nothing more
    full = {**charge, "amount_refunded": 2900, "refunded": True}
    webhook("charge.refunded", full)
    refunds = Transaction.objects.filter(kind="refund").order_by("occurred_at", "created_at")
    assert [t.amount_cents for t in refunds] == [-900, -2000]
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.REFUNDED and invoice.amount_refunded_cents == 2900


def test_a_failure_reported_after_the_payment_changes_nothing(paid, webhook):
    webhook("invoice.payment_failed", {**paid["stripe_invoice"], "status": "open"})
    paid["account"].refresh_from_db()
    assert paid["account"].status == "active" and paid["account"].past_due_since is None
