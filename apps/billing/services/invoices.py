"""Invoices and transactions: gapless invoice numbers, invoices and their lines recorded
from Stripe, payments, credit-bundle purchases and refunds, and the invoice outbox events."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from apps.core.actor import SYSTEM
from apps.core.audit import audit_as
from apps.core.outbox import event_emit
from apps.core.problems import Conflict
from apps.tenants.models import Membership, Role

from ..models import (
    BillingAccount,
    CheckoutSession,
    CreditBucket,
    CreditBundle,
    CreditKind,
    Invoice,
    InvoiceCounter,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    SubscriptionStatus,
    Transaction,
    TransactionKind,
)
from ..payloads import InvoiceOutput
from ._common import _ts
from ._ledger import _credit_write
from .dunning import dunning_clear, dunning_start

INVOICE_SEQUENCE = "invoice"


def _invoice_number_take() -> str:
    """The next number, in the caller's transaction. The UPDATE locks the counter row until
    that transaction ends, so concurrent issues queue behind it, and a rollback gives the
    number back: numbers have no gaps. One statement, one round trip."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE billing_invoicecounter SET value = value + 1 WHERE name = %s RETURNING value",
            [INVOICE_SEQUENCE],
        )
        row = cursor.fetchone()
    if row is None:  # the migration's row is gone (a truncated test database): make it
        try:
            with transaction.atomic():
                InvoiceCounter.objects.create(name=INVOICE_SEQUENCE, value=0)
        except IntegrityError:
            pass
        return _invoice_number_take()
    return f"{settings.BILLING_INVOICE_PREFIX}{row[0]:06d}"


def _bill_to(invoice: Invoice) -> None:
    """Who the invoice is addressed to, as it is when issued."""
    owner = (
        Membership.objects.filter(tenant_id=invoice.account.tenant_id, role=Role.OWNER)
        .select_related("user")
        .first()
    )
    invoice.bill_to_name = invoice.account.tenant.name
    invoice.bill_to_email = owner.user.email if owner is not None else ""


def _number_assign(invoice: Invoice, issued_at: dt.datetime | None) -> None:
    """Give a saved invoice its number: the issuing transaction's last write but the caller's
    status update, so that the counter row, locked from here to the commit, is held briefly."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("an invoice is issued inside a transaction")
    invoice.number = _invoice_number_take()
    invoice.status = InvoiceStatus.PAID
    invoice.issued_at = issued_at or timezone.now()
    Invoice.objects.filter(pk=invoice.pk).update(
        number=invoice.number,
        status=invoice.status,
        issued_at=invoice.issued_at,
        updated_at=timezone.now(),
    )
    _invoice_event("invoice.paid", invoice)


def _invoice_event(type: str, invoice: Invoice) -> None:
    """The outbox event (webhooks): the invoice as GET /api/v1/billing/invoices/{id} renders it."""
    event_emit(type=type, tenant=invoice.account.tenant_id, data=dict(InvoiceOutput(invoice).data))


def invoice_payment_failed(
    *, account: BillingAccount, stripe_invoice: dict, at: dt.datetime | None = None
) -> Invoice:
    """Stripe could not collect an invoice: record it (open), tell webhooks, start dunning."""
    invoice = invoice_record_from_stripe(account=account, stripe_invoice=stripe_invoice)
    _invoice_event("invoice.payment_failed", invoice)
    dunning_start(account=account, reason=f"invoice {stripe_invoice['id']} payment failed", at=at)
    return invoice


def invoice_issue(*, invoice: Invoice, issued_at: dt.datetime | None = None) -> Invoice:
    """Number an invoice and mark it paid (once). Must run inside the caller's transaction."""
    if invoice.number:
        return invoice
    _bill_to(invoice)
    invoice.save()
    _number_assign(invoice, issued_at)
    return invoice


def _amounts_sum(items) -> int | None:
    """The sum of a Stripe list of `{amount, ...}`; None when Stripe did not send the list."""
    if items is None:
        return None
    return sum(int(item.get("amount") or 0) for item in items)


def _amounts_split(
    *, total: int, subtotal: int | None, discount: int | None, tax: int | None
) -> tuple[int, int, int, int]:
    """(subtotal, discount, tax, total) with subtotal - discount + tax == total, from what Stripe
    sent (None: not sent). Stripe's total and tax are kept; the discount is what the subtotal
    and the tax leave (coupons, and Stripe's own pre-tax credits); without a tax figure the
    tax is what the subtotal and the discount leave; without either, the difference is a tax
    when the total is higher and a discount when it is lower (never a negative tax)."""
    if subtotal is None:
        tax, discount = tax or 0, discount or 0
        return total + discount - tax, discount, tax, total
    if tax is None and discount is None:
        rest = total - subtotal
        return subtotal, max(-rest, 0), max(rest, 0), total
    if tax is None:
        tax = total - subtotal + discount
        if tax < 0:  # more off than the named discounts: the rest is a discount too
            discount, tax = discount - tax, 0
        return subtotal, discount, tax, total
    discount = subtotal + tax - total
    if discount < 0:  # a charge the subtotal does not show: trust Stripe's total and tax
        return total - tax, 0, tax, total
    return subtotal, discount, tax, total


def _invoice_amounts(stripe_invoice: dict) -> tuple[int, int, int, int]:
    """(subtotal, discount, tax, total) of a Stripe invoice in the pinned API version (no `tax`
    nor `total_tax_amounts` there: `total_taxes`, `total_discount_amounts`, and the
    `*_excluding_tax` figures). Taxes included in prices are taken out of the subtotal, so that
    subtotal - discount + tax == total holds for exclusive and inclusive taxes alike."""
    total = int(stripe_invoice.get("total") or stripe_invoice.get("amount_due") or 0)
    taxes = stripe_invoice.get("total_taxes")
    tax = _amounts_sum(taxes)
    if tax is None and stripe_invoice.get("total_excluding_tax") is not None:
        tax = total - int(stripe_invoice["total_excluding_tax"])
    if stripe_invoice.get("subtotal_excluding_tax") is not None:
        subtotal = int(stripe_invoice["subtotal_excluding_tax"])
    elif stripe_invoice.get("subtotal") is not None:
        inclusive = [t for t in taxes or [] if t.get("tax_behavior") == "inclusive"]
        subtotal = int(stripe_invoice["subtotal"]) - (_amounts_sum(inclusive) or 0)
    else:
        subtotal = None
    discount = _amounts_sum(stripe_invoice.get("total_discount_amounts"))
    return _amounts_split(total=total, subtotal=subtotal, discount=discount, tax=tax)


def _line_unit_amount(line: dict) -> int | None:
    """A Stripe line's unit price in whole minor units, when it says one: `pricing.
    unit_amount_decimal` in the pinned API version (`price.unit_amount` in older ones)."""
    raw = (line.get("pricing") or {}).get("unit_amount_decimal")
    if raw is None:
        price = line.get("price")
        raw = price.get("unit_amount") if isinstance(price, dict) else None
    if raw is None:
        return None
    try:
        unit = Decimal(str(raw))
    except ArithmeticError:
        return None
    return int(unit) if unit.is_finite() and unit == unit.to_integral_value() else None


def _line_quantity_and_unit(line: dict, amount: int) -> tuple[int, int]:
    """(quantity, unit amount) such that quantity * unit == amount: Stripe's unit price when it
    gives one that adds up, else the amount divided when it divides exactly, else one unit of
    the whole amount (a unit price rounded to the cent would not add up to the line)."""
    quantity = int(line.get("quantity") or 1)
    unit = _line_unit_amount(line)
    if unit is not None and unit * quantity == amount:
        return quantity, unit
    if amount % quantity == 0:
        return quantity, amount // quantity
    return 1, amount


def _lines_from_stripe(stripe_invoice: dict) -> list[dict]:
    lines = []
    for index, line in enumerate((stripe_invoice.get("lines") or {}).get("data") or []):
        amount = int(line.get("amount") or 0)
        quantity, unit = _line_quantity_and_unit(line, amount)
        description = line.get("description") or "Subscription"
        if quantity != int(line.get("quantity") or 1):
            description = f"{description} (quantity {line['quantity']})"
        period = line.get("period") or {}
        lines.append(
            {
                "position": index,
                "description": description[:300],
                "quantity": quantity,
                "unit_amount_cents": unit,
                "amount_cents": amount,
                "period_start": _ts(period.get("start")),
                "period_end": _ts(period.get("end")),
            }
        )
    return lines


def _stripe_payment_refs(stripe_invoice: dict) -> tuple[str, str]:
    """(payment_intent, charge): on the invoice in older API versions, under `payments` now."""
    intent = stripe_invoice.get("payment_intent") or ""
    charge = stripe_invoice.get("charge") or ""
    for payment in (stripe_invoice.get("payments") or {}).get("data") or []:
        details = payment.get("payment") or {}
        intent = intent or details.get("payment_intent") or ""
        charge = charge or details.get("charge") or ""
    return (intent if isinstance(intent, str) else intent.get("id", "")), (
        charge if isinstance(charge, str) else charge.get("id", "")
    )


def _invoice_fill(invoice: Invoice, stripe_invoice: dict) -> list[dict]:
    """Copy a Stripe invoice's figures onto ours (unsaved); returns its lines."""
    subtotal, discount, tax, total = _invoice_amounts(stripe_invoice)
    intent, charge = _stripe_payment_refs(stripe_invoice)
    invoice.currency = stripe_invoice.get("currency") or invoice.account.plan.currency
    invoice.subtotal_cents = subtotal
    invoice.discount_cents = discount
    invoice.tax_cents = tax
    invoice.total_cents = total
    invoice.hosted_invoice_url = stripe_invoice.get("hosted_invoice_url") or ""
    invoice.stripe_payment_intent_id = intent or invoice.stripe_payment_intent_id
    invoice.stripe_charge_id = charge or invoice.stripe_charge_id
    invoice.period_start = _ts(stripe_invoice.get("period_start"))
    invoice.period_end = _ts(stripe_invoice.get("period_end"))
    return _lines_from_stripe(stripe_invoice)


def _invoice_from_stripe(
    account: BillingAccount, stripe_invoice: dict, *, addressed: bool
) -> tuple[Invoice, list[dict]] | None:
    """Write our copy of a Stripe invoice, not numbered; None when it was issued already."""
    invoice = Invoice.objects.filter(stripe_invoice_id=stripe_invoice["id"]).first()
    if invoice is not None and invoice.number:
        return None
    new = invoice is None
    if new:
        invoice = Invoice(
            account=account, stripe_invoice_id=stripe_invoice["id"], kind=InvoiceKind.SUBSCRIPTION
        )
    lines = _invoice_fill(invoice, stripe_invoice)
    if addressed:
        _bill_to(invoice)
    invoice.save(force_insert=new)
    if not new:
        invoice.lines.all().delete()
    InvoiceLine.objects.bulk_create(InvoiceLine(invoice=invoice, **line) for line in lines)
    return invoice, lines


def invoice_record_from_stripe(*, account: BillingAccount, stripe_invoice: dict) -> Invoice:
    """Our copy of a Stripe invoice not paid yet (open, no number); lines follow Stripe's."""
    written = _invoice_from_stripe(account, stripe_invoice, addressed=False)
    if written is None:
        return Invoice.objects.get(stripe_invoice_id=stripe_invoice["id"])
    return written[0]


def invoice_paid_from_stripe(
    *, account: BillingAccount, stripe_invoice: dict, paid_at: dt.datetime | None = None
) -> Invoice | None:
    """A Stripe invoice was paid: record the transaction, issue our invoice, and end any dunning
    unless another invoice of the current subscription is still open (an old invoice's payment
    delivered late does not end the episode a newer failed one started)."""
    past_due = account.status in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID)
    if past_due or account.past_due_since is not None or account.suspended_by_billing:
        still_open = Invoice.objects.filter(
            account=account, kind=InvoiceKind.SUBSCRIPTION, status=InvoiceStatus.OPEN
        ).exclude(stripe_invoice_id=stripe_invoice["id"])
        if account.subscription_started_at is not None:
            # Open invoices of an earlier, ended subscription are not this one's to pay.
            still_open = still_open.filter(created_at__gte=account.subscription_started_at)
        if not still_open.exists():
            if past_due:
                account.status = SubscriptionStatus.ACTIVE
                account.save(update_fields=["status", "updated_at"])
            dunning_clear(account=account, reason=f"invoice {stripe_invoice['id']} paid")
    amount_paid = int(stripe_invoice.get("amount_paid") or 0)
    if amount_paid <= 0:  # trials and fully discounted periods: nothing to invoice
        return None
    written = _invoice_from_stripe(account, stripe_invoice, addressed=True)
    if written is None:
        return None
    invoice, lines = written
    Transaction.objects.create(
        account=account,
        kind=TransactionKind.SUBSCRIPTION,
        amount_cents=amount_paid,
        currency=invoice.currency,
        description=(lines[0]["description"] if lines else "Subscription")[:300],
        invoice=invoice,
        stripe_ref=stripe_invoice["id"],
        occurred_at=paid_at or timezone.now(),
    )
    audit_as(
        SYSTEM,
        "invoice.paid",
        tenant=account.tenant,
        target=account,
        invoice=str(invoice.pk),
        amount_cents=amount_paid,
    )
    _number_assign(invoice, paid_at)
    return invoice


def bundle_purchase_complete(
    *, account: BillingAccount, session: dict, paid_at: dt.datetime | None = None
) -> Invoice | None:
    """A paid Checkout for a credit bundle: invoice, transaction, purchased credits (once)."""
    if Invoice.objects.filter(stripe_checkout_session_id=session["id"]).exists():
        return None
    checkout = CheckoutSession.objects.filter(stripe_session_id=session["id"]).first()
    bundle_id = (session.get("metadata") or {}).get("quayside_bundle_id")
    bundle = checkout.bundle if checkout is not None else None
    if bundle is None and bundle_id:
        bundle = CreditBundle.objects.filter(pk=bundle_id).first()
    if bundle is None:
        raise Conflict(f"Checkout {session['id']} names no credit bundle we know.")
    amount = int(session.get("amount_total") or bundle.price_cents)
    # total_details names the discount and the tax (exclusive and inclusive): the subtotal
    # follows from them, so a price that includes its tax shows it net of that tax.
    details = session.get("total_details") or {}
    named = details.get("amount_discount") is not None and details.get("amount_tax") is not None
    subtotal, discount, tax, _ = _amounts_split(
        total=amount,
        subtotal=None if named else session.get("amount_subtotal"),
        discount=details.get("amount_discount"),
        tax=details.get("amount_tax"),
    )
    currency = session.get("currency") or bundle.currency
    description = f"{bundle.name} ({bundle.credits} credits)"
    invoice = Invoice(
        account=account,
        kind=InvoiceKind.BUNDLE,
        currency=currency,
        subtotal_cents=subtotal,
        discount_cents=discount,
        tax_cents=tax,
        total_cents=amount,
        stripe_checkout_session_id=session["id"],
        stripe_payment_intent_id=session.get("payment_intent") or "",
    )
    _bill_to(invoice)
    invoice.save(force_insert=True)
    InvoiceLine.objects.create(
        invoice=invoice,
        description=description,
        quantity=1,
        unit_amount_cents=subtotal,
        amount_cents=subtotal,
    )
    Transaction.objects.create(
        account=account,
        kind=TransactionKind.PURCHASE,
        amount_cents=amount,
        currency=currency,
        description=description,
        invoice=invoice,
        stripe_ref=session["id"],
        occurred_at=paid_at or timezone.now(),
    )
    _credit_write(
        account,
        kind=CreditKind.PURCHASE,
        bucket=CreditBucket.PURCHASED,
        amount=bundle.credits,
        description=f"Bought {bundle.name}",
        key=f"purchase:{session['id']}",
        metadata={"invoice": str(invoice.pk)},
    )
    if checkout is not None:
        CheckoutSession.objects.filter(pk=checkout.pk).update(
            status=CheckoutSession.Status.COMPLETED, completed_at=timezone.now()
        )
    audit_as(
        SYSTEM,
        "credits.purchased",
        tenant=account.tenant,
        target=account,
        bundle=bundle.name,
        invoice=str(invoice.pk),
    )
    _number_assign(invoice, paid_at)
    return invoice


def refund_from_stripe(
    *, account: BillingAccount, charge: dict, at: dt.datetime | None = None
) -> Transaction | None:
    """charge.refunded: record what was refunded since we last looked, as a negative
    transaction. `amount_refunded` is cumulative at Stripe, so repeats record nothing."""
    intent = charge.get("payment_intent") or ""
    invoice = None
    if charge.get("id"):
        invoice = Invoice.objects.filter(account=account, stripe_charge_id=charge["id"]).first()
    if invoice is None and intent:
        invoice = Invoice.objects.filter(account=account, stripe_payment_intent_id=intent).first()
    if invoice is None and isinstance(charge.get("invoice"), str):
        invoice = Invoice.objects.filter(stripe_invoice_id=charge["invoice"]).first()
    refunded_total = int(charge.get("amount_refunded") or 0)
    ref = f"{charge['id']}:refunded:{refunded_total}"
    if Transaction.objects.filter(stripe_ref=ref).exists():
        return None
    already = -(
        Transaction.objects.filter(
            account=account, kind=TransactionKind.REFUND, stripe_ref__startswith=f"{charge['id']}:"
        ).aggregate(total=Sum("amount_cents"))["total"]
        or 0
    )
    delta = refunded_total - already
    if delta <= 0:
        return None
    transaction_row = Transaction.objects.create(
        account=account,
        kind=TransactionKind.REFUND,
        amount_cents=-delta,
        currency=charge.get("currency") or (invoice.currency if invoice else "usd"),
        description=f"Refund{f' of {invoice.number}' if invoice and invoice.number else ''}",
        invoice=invoice,
        stripe_ref=ref,
        occurred_at=at or timezone.now(),
    )
    if invoice is not None:
        invoice.amount_refunded_cents = min(refunded_total, invoice.total_cents)
        if invoice.amount_refunded_cents >= invoice.total_cents:
            invoice.status = InvoiceStatus.REFUNDED
        invoice.save(update_fields=["amount_refunded_cents", "status", "updated_at"])
    audit_as(
        SYSTEM,
        "invoice.refunded",
        tenant=account.tenant,
        target=account,
        charge=charge["id"],
        amount_cents=delta,
    )
    return transaction_row
