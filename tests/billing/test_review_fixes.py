"""Fixes from review D: dunning that outlives a paid or ended subscription, billing lifting an
operator's suspension, late events of old subscriptions and invoices, lock scope, malformed
webhook bodies, delayed-payment bundle checkouts."""

import datetime as dt
import json
import time

import psycopg
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.billing import selectors, services
from apps.billing.models import (
    BillingAccount,
    Invoice,
    StripeEvent,
    SubscriptionStatus,
)
from apps.tenants import services as tenant_services
from apps.tenants.models import Tenant, TenantStatus

from .factories import bundle_synced, plan_synced
from .helpers import sign, stripe_event

pytestmark = pytest.mark.django_db

CUSTOMER = "cus_review"


def _account_of(world) -> BillingAccount:
    account = services.billing_account_ensure(tenant=world["tenant_a"])
    BillingAccount.objects.filter(pk=account.pk).update(stripe_customer_id=CUSTOMER)
    account.refresh_from_db()
    return account


@pytest.fixture
def price():
    plan = plan_synced()
    return selectors.stripe_price_current(plan=plan, interval="month")


def _sub(sub_id: str, status: str, price, **fields) -> dict:
    return {
        "id": sub_id,
        "object": "subscription",
        "customer": CUSTOMER,
        "status": status,
        "items": {
            "data": [
                {
                    "price": {
                        "id": price.stripe_price_id,
                        "unit_amount": price.unit_amount,
                        "currency": "usd",
                        "recurring": {"interval": "month"},
                    },
                    "current_period_start": 1700000000,
                    "current_period_end": 1702592000,
                }
            ]
        },
        "start_date": 1700000000,
        **fields,
    }


def _failed(invoice_id: str) -> dict:
    return {
        "id": invoice_id,
        "customer": CUSTOMER,
        "currency": "usd",
        "total": 2900,
        "amount_due": 2900,
        "amount_paid": 0,
    }


def _paid(invoice_id: str) -> dict:
    return {
        "id": invoice_id,
        "customer": CUSTOMER,
        "currency": "usd",
        "total": 2900,
        "subtotal": 2900,
        "amount_paid": 2900,
        "status": "paid",
    }


def _tenant(world) -> Tenant:
    return Tenant.objects.get(pk=world["tenant_a"].pk)


def _after_grace(account: BillingAccount) -> dt.datetime:
    account.refresh_from_db()
    return account.past_due_since + dt.timedelta(days=60)


# --- 1. A paid tenant stays suspended -------------------------------------------------------


def test_resubscribing_after_a_cancellation_ends_the_suspension(world, webhook, price):
    account = _account_of(world)
    now = int(time.time())
    webhook("customer.subscription.created", _sub("sub_A", "active", price), created=now - 1000)
    webhook("invoice.payment_failed", _failed("in_f"), created=now - 900)
    services.dunning_enforce(now=_after_grace(account))
    assert _tenant(world).status == TenantStatus.SUSPENDED
    webhook(
        "customer.subscription.deleted",
        _sub("sub_A", "canceled", price, ended_at=now - 500),
        created=now - 500,
    )
    webhook("customer.subscription.created", _sub("sub_B", "active", price), created=now - 100)
    webhook("invoice.paid", _paid("in_new"), created=now - 50)
    account.refresh_from_db()
    assert _tenant(world).status == TenantStatus.ACTIVE
    assert account.status == SubscriptionStatus.ACTIVE
    assert account.past_due_since is None and not account.suspended_by_billing


def test_an_active_subscription_ends_dunning_whatever_the_status_before(world, webhook, price):
    """Dunning left over with a non-past-due status (e.g. canceled) is ended by a live sub."""
    account = _account_of(world)
    now = int(time.time())
    webhook("customer.subscription.created", _sub("sub_A", "active", price), created=now - 1000)
    webhook("invoice.payment_failed", _failed("in_f"), created=now - 900)
    services.dunning_enforce(now=_after_grace(account))
    BillingAccount.objects.filter(pk=account.pk).update(status=SubscriptionStatus.CANCELED)
    webhook("customer.subscription.updated", _sub("sub_A", "active", price), created=now - 100)
    account.refresh_from_db()
    assert account.past_due_since is None and not account.suspended_by_billing
    assert _tenant(world).status == TenantStatus.ACTIVE


# --- 2. A tenant on the free plan suspended for an unpaid bill ------------------------------


def test_cancellation_while_past_due_ends_dunning(world, webhook, price):
    account = _account_of(world)
    now = int(time.time())
    webhook("customer.subscription.created", _sub("sub_A", "active", price), created=now - 1000)
    webhook("invoice.payment_failed", _failed("in_f"), created=now - 900)
    webhook(
        "customer.subscription.deleted",
        _sub("sub_A", "canceled", price, ended_at=now - 500),
        created=now - 500,
    )
    account.refresh_from_db()
    assert account.plan.is_free and account.status == SubscriptionStatus.CANCELED
    assert account.past_due_since is None
    assert services.dunning_enforce(now=timezone.now() + dt.timedelta(days=60)) == 0
    assert _tenant(world).status == TenantStatus.ACTIVE


def test_cancellation_lifts_a_billing_suspension(world, webhook, price):
    account = _account_of(world)
    now = int(time.time())
    webhook("customer.subscription.created", _sub("sub_A", "active", price), created=now - 1000)
    webhook("invoice.payment_failed", _failed("in_f"), created=now - 900)
    services.dunning_enforce(now=_after_grace(account))
    assert _tenant(world).status == TenantStatus.SUSPENDED
    webhook(
        "customer.subscription.deleted",
        _sub("sub_A", "canceled", price, ended_at=now - 500),
        created=now - 500,
    )
    account.refresh_from_db()
    assert not account.suspended_by_billing and account.plan.is_free
    assert _tenant(world).status == TenantStatus.ACTIVE


# --- 3. Billing lifts an operator's suspension ----------------------------------------------


def test_payment_does_not_resume_a_tenant_an_operator_suspended(world, webhook, price):
    account = _account_of(world)
    now = int(time.time())
    webhook("customer.subscription.created", _sub("sub_A", "active", price), created=now - 1000)
    tenant_services.tenant_suspend(tenant=_tenant(world), reason="Operator: abuse")
    webhook("invoice.payment_failed", _failed("in_f"), created=now - 900)
    assert services.dunning_enforce(now=_after_grace(account)) == 0
    account.refresh_from_db()
    assert not account.suspended_by_billing
    webhook("invoice.paid", _paid("in_f"), created=now - 50)
    tenant = _tenant(world)
    assert tenant.status == TenantStatus.SUSPENDED
    assert tenant.suspension_reason == "Operator: abuse"
    account.refresh_from_db()
    assert account.past_due_since is None


# --- 5. Lock scope --------------------------------------------------------------------------


def test_locking_an_account_locks_neither_its_plan_nor_its_tenant(world):
    account = services.billing_account_ensure(tenant=world["tenant_b"])
    params = connection.settings_dict
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            services._lock(account)
        # The tenant row is written (its limits) by billing_account_ensure in this transaction,
        # so another connection cannot tell; the statement shows what is locked.
        assert queries.captured_queries[-1]["sql"].endswith(
            'FOR UPDATE OF "billing_billingaccount"'
        )
        with psycopg.connect(
            host=params["HOST"] or "127.0.0.1",
            port=params["PORT"] or 5432,
            user=params["USER"],
            dbname=params["NAME"],
            autocommit=True,
        ) as other:
            # What an UPDATE of the plan takes (the account's insert, uncommitted here, holds
            # FOR KEY SHARE on it, which this does not conflict with).
            other.execute(
                "select 1 from billing_plan where id = %s for no key update nowait",
                [account.plan_id],
            )


def test_an_event_handler_locks_only_the_account(world):
    from apps.billing.stripe_events import _account

    account = _account_of(world)
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            assert _account({"customer": CUSTOMER}).pk == account.pk
        assert queries.captured_queries[-1]["sql"].endswith(
            'FOR UPDATE OF "billing_billingaccount"'
        )


# --- 6. Late events clear dunning -----------------------------------------------------------


def test_a_late_active_update_does_not_end_a_newer_failure(world, webhook, price):
    account = _account_of(world)
    now = int(time.time())
    webhook("customer.subscription.created", _sub("sub_A", "active", price), created=now - 1000)
    webhook("invoice.payment_failed", _failed("in_f"), created=now - 100)
    webhook("customer.subscription.updated", _sub("sub_A", "active", price), created=now - 500)
    account.refresh_from_db()
    assert account.status == SubscriptionStatus.PAST_DUE and account.past_due_since
    # A newer active state does end it.
    webhook("customer.subscription.updated", _sub("sub_A", "active", price), created=now - 10)
    account.refresh_from_db()
    assert account.status == SubscriptionStatus.ACTIVE and account.past_due_since is None


def test_an_old_invoice_paid_late_does_not_end_a_newer_failure(world, webhook, price):
    account = _account_of(world)
    now = int(time.time())
    webhook("customer.subscription.created", _sub("sub_A", "active", price), created=now - 1000)
    webhook("invoice.payment_failed", _failed("in_2"), created=now - 100)
    webhook("invoice.paid", _paid("in_1"), created=now - 800)
    account.refresh_from_db()
    assert account.status == SubscriptionStatus.PAST_DUE and account.past_due_since
    assert Invoice.objects.get(stripe_invoice_id="in_1").number  # still issued
    webhook("invoice.paid", _paid("in_2"), created=now - 10)
    account.refresh_from_db()
    assert account.status == SubscriptionStatus.ACTIVE and account.past_due_since is None


# --- 7. Old events of another subscription --------------------------------------------------


def test_a_late_update_of_an_ended_subscription_does_not_take_over(world, webhook, price):
    account = _account_of(world)
    now = int(time.time())
    webhook("customer.subscription.created", _sub("sub_A", "active", price), created=now - 1000)
    webhook(
        "customer.subscription.deleted",
        _sub("sub_A", "canceled", price, ended_at=now - 900),
        created=now - 900,
    )
    webhook("customer.subscription.created", _sub("sub_B", "active", price), created=now - 100)
    webhook(
        "customer.subscription.updated",
        _sub("sub_A", "active", price, cancel_at_period_end=True),
        created=now - 950,
    )
    webhook("customer.subscription.updated", _sub("sub_A", "past_due", price), created=now - 940)
    account.refresh_from_db()
    assert account.stripe_subscription_id == "sub_B"
    assert account.status == SubscriptionStatus.ACTIVE and not account.cancel_at_period_end
    assert account.past_due_since is None
    ignored = StripeEvent.objects.filter(type="customer.subscription.updated", status="ignored")
    assert ignored.count() == 2


def test_a_newer_live_subscription_still_takes_over(world, webhook, price):
    account = _account_of(world)
    now = int(time.time())
    webhook("customer.subscription.created", _sub("sub_A", "active", price), created=now - 1000)
    webhook("customer.subscription.created", _sub("sub_B", "trialing", price), created=now - 100)
    account.refresh_from_db()
    assert account.stripe_subscription_id == "sub_B"
    assert account.status == SubscriptionStatus.TRIALING


# --- 4. Malformed webhook bodies answer 400 -------------------------------------------------


def _post(client, body: str | bytes, signature: str | None = None):
    if signature is None:
        signature = sign(body.decode("utf-8", "replace") if isinstance(body, bytes) else body)
    return client.post(
        "/webhooks/stripe/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )


def test_a_non_utf8_body_is_refused_with_400(client):
    response = _post(client, b'{"id": "evt_\xff"}', signature="t=1,v1=abc")
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_a_non_utf8_body_signed_over_its_bytes_is_refused_with_400(client, settings):
    import hashlib
    import hmac

    body = b'{"id": "evt_\xff"}'
    timestamp = int(time.time())
    mac = hmac.new(
        settings.STRIPE_WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    response = _post(client, body, signature=f"t={timestamp},v1={mac}")
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def _invoice_event(**changes) -> dict:
    return {**stripe_event("invoice.paid", {"id": "in_x", "customer": "cus_x"}), **changes}


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(_invoice_event(created=10**20), id="created-huge"),
        pytest.param(_invoice_event(created=-(10**20)), id="created-negative-huge"),
        pytest.param(_invoice_event(created="1700000000"), id="created-string"),
        pytest.param(_invoice_event(created=True), id="created-bool"),
        pytest.param(_invoice_event(type=["invoice.paid"]), id="type-list"),
        pytest.param(_invoice_event(id={"a": 1}), id="id-dict"),
        pytest.param(_invoice_event(data=[1]), id="data-list"),
        pytest.param([1, 2], id="top-level-list"),
        pytest.param("event", id="top-level-string"),
    ],
)
def test_signed_events_of_the_wrong_shape_are_refused_with_400(client, event):
    response = _post(client, json.dumps(event))
    assert response.status_code == 400, response.content
    assert not StripeEvent.objects.exists()


def test_a_signed_body_with_nan_is_refused_with_400(client):
    body = json.dumps(_invoice_event()).replace('"livemode": false', '"livemode": NaN')
    assert "NaN" in body
    assert _post(client, body).status_code == 400
    assert not StripeEvent.objects.exists()


def test_a_customer_that_is_not_a_string_is_stored_without_one(client):
    event = stripe_event("invoice.paid", {"id": "in_y", "customer": 5})
    assert _post(client, json.dumps(event)).status_code == 200
    stored = StripeEvent.objects.get(stripe_event_id=event["id"])
    assert stored.customer_id == ""


def test_nul_characters_and_lone_surrogates_are_dropped_from_the_stored_copy(client):
    event = stripe_event(
        "invoice.paid",
        {"id": "in_z\u0000", "customer": "cus_x", "description": "a\u0000b\ud800c"},
    )
    body = json.dumps(event)
    assert "\\u0000" in body and "\\ud800" in body
    assert _post(client, body).status_code == 200
    stored = StripeEvent.objects.get(stripe_event_id=event["id"])
    assert stored.object_id == "in_z"
    assert stored.payload["data"]["object"]["description"] == "abc"
    # The same delivery again is a duplicate, not an error.
    response = _post(client, body)
    assert response.status_code == 200 and response.json()["duplicate"] is True


# --- 8. Bundles paid with delayed payment methods -------------------------------------------


def test_a_bundle_paid_asynchronously_grants_its_credits_once(world, webhook):
    bundle = bundle_synced(credits=500, price_cents=4900)
    account = _account_of(world)
    session = {
        "id": "cs_async_bundle",
        "object": "checkout.session",
        "mode": "payment",
        "customer": CUSTOMER,
        "payment_status": "unpaid",
        "amount_total": 4900,
        "amount_subtotal": 4900,
        "currency": "usd",
        "payment_intent": "pi_async",
        "metadata": {"quayside_account_id": str(account.pk), "quayside_bundle_id": str(bundle.pk)},
    }
    webhook("checkout.session.completed", session)
    assert selectors.credit_balances(account)["purchased"] == 0
    assert not account.invoices.exists()
    paid = {**session, "payment_status": "paid"}
    webhook("checkout.session.async_payment_succeeded", paid)
    webhook("checkout.session.async_payment_succeeded", paid)  # a redelivery, new event id
    assert selectors.credit_balances(account)["purchased"] == 500
    invoice = account.invoices.get()
    assert invoice.number and invoice.total_cents == 4900 and invoice.kind == "bundle"
    assert account.transactions.get().kind == "purchase"
    assert set(
        StripeEvent.objects.filter(type="checkout.session.async_payment_succeeded").values_list(
            "status", flat=True
        )
    ) == {"succeeded"}
