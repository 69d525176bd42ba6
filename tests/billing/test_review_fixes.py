"""Fixes from review D: dunning that outlives a paid or ended subscription, billing lifting an
operator's suspension, late events of old subscriptions and invoices, lock scope, malformed
webhook bodies, delayed-payment bundle checkouts."""

import datetime as dt
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

from .factories import plan_synced

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
    from apps.billing.events import _account

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
