"""Behaviour that needs committed data seen by other connections: concurrent invoice numbers
(real threads, one connection each) and webhook processing in a real Celery worker.

These use `transactional_db`: their teardown TRUNCATEs every table. They make their own tenant
rows (billing lives in the public schema, so no tenant schema is needed) and never touch the
session's `world`; conftest runs them after every other test of the session."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from django.db import connections, transaction

from apps.billing import selectors, services
from apps.billing.models import (
    BillingAccount,
    CreditEntry,
    CreditKind,
    EventStatus,
    Invoice,
    InvoiceCounter,
    StripeEvent,
)
from apps.tenants.models import Membership, Tenant

from .factories import plan_synced, subscription_start
from .helpers import deliver, stripe_event

THREADS = 50


def tenant_row(django_user_model) -> Tenant:
    tag = uuid.uuid4().hex[:8]
    tenant = Tenant.objects.create(
        name=f"Committed {tag}", slug=f"c-{tag}", schema_name=f"t_c_{tag}", status="active"
    )
    owner = django_user_model.objects.create_user(
        username=f"owner-{tag}@example.com", email=f"owner-{tag}@example.com", password="x"
    )
    Membership.objects.create(tenant=tenant, user=owner, role="owner")
    return tenant


class Boom(Exception):
    pass


def test_50_concurrent_issues_give_50_consecutive_numbers(transactional_db, django_user_model):
    account = BillingAccount.objects.create(
        tenant=tenant_row(django_user_model), plan=selectors.plan_free()
    )
    counter, _ = InvoiceCounter.objects.get_or_create(name="invoice")
    start = counter.value
    barrier = threading.Barrier(THREADS)

    def issue(index: int) -> str | None:
        try:
            barrier.wait(timeout=30)
            with transaction.atomic():
                invoice = Invoice.objects.create(
                    account=account, kind="bundle", currency="usd", total_cents=100 + index
                )
                services.invoice_issue(invoice=invoice)
                if index % 10 == 9:  # every tenth rolls back after taking a number
                    raise Boom
            return invoice.number
        except Boom:
            return None
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        numbers = [n for n in pool.map(issue, range(THREADS)) if n is not None]

    committed = THREADS - THREADS // 10
    assert len(numbers) == len(set(numbers)) == committed
    values = sorted(int(number.removeprefix("INV-")) for number in numbers)
    # Consecutive: the rolled-back issues gave their numbers back.
    assert values == list(range(start + 1, start + committed + 1))
    assert InvoiceCounter.objects.get(name="invoice").value == start + committed
    assert Invoice.objects.filter(account=account).count() == committed


def test_a_processing_failure_is_retried_and_then_succeeds_once(
    transactional_db, django_user_model, celery_worker_process, sdk, shape, client
):
    plan = plan_synced()
    account = services.billing_account_ensure(tenant=tenant_row(django_user_model))
    subscription = subscription_start(sdk, account, plan)
    # Stripe answers the worker's first read of the subscription with a 500.
    shape.fault(path=f"/v1/subscriptions/{subscription['id']}", method="GET", times=1)
    session = {
        "id": f"cs_test_{uuid.uuid4().hex[:12]}",
        "object": "checkout.session",
        "mode": "subscription",
        "customer": subscription["customer"],
        "subscription": subscription["id"],
        "client_reference_id": str(account.pk),
        "metadata": {"quayside_account_id": str(account.pk)},
        "payment_status": "paid",
    }
    event = stripe_event("checkout.session.completed", session)
    assert deliver(client, event).status_code == 200  # committed, enqueued on commit

    deadline = time.monotonic() + 60
    stored = StripeEvent.objects.get(stripe_event_id=event["id"])
    while stored.status not in (EventStatus.SUCCEEDED, EventStatus.IGNORED):
        assert time.monotonic() < deadline, (stored.status, stored.attempts, stored.last_error)
        time.sleep(0.1)
        stored.refresh_from_db()

    assert stored.status == EventStatus.SUCCEEDED
    assert stored.attempts == 2  # one failure, one success
    assert stored.last_error == ""
    account.refresh_from_db()
    assert account.plan == plan and account.status == "active"
    # Its effects happened once: one welcome bonus, one subscription state.
    bonus = CreditEntry.objects.filter(
        account=account, kind=CreditKind.GRANT, idempotency_key__startswith="bonus:"
    )
    assert bonus.count() == 1
    reads = [
        r
        for r in shape.requests()
        if r["method"] == "GET" and r["path"] == f"/v1/subscriptions/{subscription['id']}"
    ]
    assert len(reads) == 2  # the failed read and the successful one
