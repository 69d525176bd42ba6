"""Subscription state from Stripe events: checkout, changes, order, cancellation."""

import time

import pytest

from apps.billing import selectors, services
from apps.billing.models import (
    BillingAccount,
    CreditKind,
    EventStatus,
    StripeEvent,
    SubscriptionStatus,
)
from apps.core.actor import Actor
from apps.core.models import AuditEvent
from apps.tenants.models import Tenant
from apps.tenants.selectors import tenant_limit

from .factories import (
    account_with_customer,
    monthly_price,
    plan_synced,
    stripe_subscription,
    subscription_start,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def pro():
    return plan_synced()


@pytest.fixture
def account(world):
    return services.billing_account_ensure(tenant=world["tenant_a"])


def reload(account) -> BillingAccount:
    return BillingAccount.objects.select_related("plan", "tenant").get(pk=account.pk)


def test_checkout_completion_puts_the_tenant_on_the_plan(webhook, sdk, account, pro, shape):
    subscription = subscription_start(sdk, account, pro)
    session = {
        "id": "cs_test_done",
        "object": "checkout.session",
        "mode": "subscription",
        "customer": subscription["customer"],
        "subscription": subscription["id"],
        "client_reference_id": str(account.pk),
        "metadata": {"quayside_account_id": str(account.pk)},
        "payment_status": "paid",
        "status": "complete",
    }
    webhook("checkout.session.completed", session)
    account = reload(account)
    assert account.plan == pro
    assert account.status == SubscriptionStatus.ACTIVE
    assert account.interval == "month"
    assert account.stripe_subscription_id == subscription["id"]
    assert account.subscription_amount_cents == 2900
    assert account.current_period_end.timestamp() == subscription["current_period_end"]
    # The subscription was read back from Stripe, not taken from the event.
    assert any(r["path"] == f"/v1/subscriptions/{subscription['id']}" for r in shape.requests())
    # Limits written onto the tenant; the welcome bonus and this month's credits granted.
    tenant = Tenant.objects.get(pk=account.tenant_id)
    assert tenant_limit(tenant, "users") == 10 and tenant_limit(tenant, "apps") == 10
    balances = selectors.credit_balances(account)
    assert balances["subscription"] == pro.credits_per_month + pro.bonus_credits
    assert AuditEvent.objects.filter(action="subscription.plan_changed").exists()


def test_events_in_reverse_order_leave_the_newer_state(webhook, sdk, account, pro):
    subscription = subscription_start(sdk, account, pro)
    now = int(time.time())
    older = {**subscription, "status": "past_due", "cancel_at_period_end": False}
    newer = {**subscription, "status": "active", "cancel_at_period_end": True}

    webhook("customer.subscription.updated", newer, created=now)
    webhook("customer.subscription.updated", older, created=now - 10)

    account = reload(account)
    assert account.status == SubscriptionStatus.ACTIVE
    assert account.cancel_at_period_end is True
    assert account.past_due_since is None  # the old past_due never started dunning
    late = StripeEvent.objects.get(stripe_created__lt=account.subscription_state_at)
    assert late.status == EventStatus.IGNORED
    assert "older" in late.last_error


def test_events_in_order_apply_one_after_the_other(webhook, sdk, account, pro):
    subscription = subscription_start(sdk, account, pro)
    now = int(time.time())
    webhook(
        "customer.subscription.updated", {**subscription, "status": "past_due"}, created=now - 10
    )
    assert reload(account).status == SubscriptionStatus.PAST_DUE
    webhook("customer.subscription.updated", {**subscription, "status": "active"}, created=now)
    account = reload(account)
    assert account.status == SubscriptionStatus.ACTIVE and account.past_due_since is None


def test_two_events_of_the_same_second_are_settled_by_reading_stripe(
    webhook, sdk, account, pro, shape
):
    subscription = subscription_start(sdk, account, pro)
    now = int(time.time())
    webhook("customer.subscription.updated", subscription, created=now)
    # Meanwhile at Stripe: cancel at period end. The second event of that second claims
    # otherwise (it was the older of the two); Stripe's own answer wins.
    sdk.v1.subscriptions.update(subscription["id"], params={"cancel_at_period_end": True})
    stale_payload = {**subscription, "cancel_at_period_end": False, "status": "past_due"}
    reads_before = len([r for r in shape.requests() if r["method"] == "GET"])
    webhook("customer.subscription.updated", stale_payload, created=now)
    account = reload(account)
    assert account.cancel_at_period_end is True
    assert account.status == SubscriptionStatus.ACTIVE
    assert len([r for r in shape.requests() if r["method"] == "GET"]) == reads_before + 1


def test_deletion_moves_the_tenant_back_to_free_and_expires_subscription_credits(
    webhook, sdk, account, pro
):
    subscription = subscription_start(sdk, account, pro)
    webhook("customer.subscription.created", subscription)
    assert reload(account).plan == pro
    ended = sdk.v1.subscriptions.cancel(subscription["id"]).to_dict()
    webhook("customer.subscription.deleted", ended)
    account = reload(account)
    assert account.plan == selectors.plan_free()
    assert account.status == SubscriptionStatus.CANCELED and account.canceled_at
    assert selectors.credit_balances(account)["subscription"] == 0
    assert account.credit_entries.filter(kind=CreditKind.EXPIRY).count() == 1
    tenant = Tenant.objects.get(pk=account.tenant_id)
    assert tenant_limit(tenant, "users") == selectors.plan_free().user_limit


def test_a_late_event_of_an_ended_subscription_does_not_touch_the_new_one(
    webhook, sdk, account, pro
):
    first = subscription_start(sdk, account, pro)
    webhook("customer.subscription.created", first)
    ended = sdk.v1.subscriptions.cancel(first["id"]).to_dict()
    webhook("customer.subscription.deleted", ended)
    second = sdk.v1.subscriptions.create(
        params={
            "customer": first["customer"],
            "items": [{"plan": first["items"]["data"][0]["plan"]["id"]}],
        }
    ).to_dict()
    webhook("customer.subscription.created", second)
    webhook("customer.subscription.deleted", ended)  # delivered again, late
    account = reload(account)
    assert account.stripe_subscription_id == second["id"]
    assert account.status == SubscriptionStatus.ACTIVE and account.plan == pro


def test_cancel_at_period_end_and_undo_through_the_api(
    client_for, world, webhook, sdk, account, pro, shape
):
    subscription = subscription_start(sdk, account, pro)
    webhook("customer.subscription.created", subscription)
    alice = client_for(world["alice"], world["tenant_a"])

    response = alice.post("/api/v1/billing/subscription/cancel")
    assert response.status_code == 200, response.json()
    assert response.json()["cancel_at_period_end"] is True
    assert sdk.v1.subscriptions.retrieve(subscription["id"]).cancel_at_period_end is True

    response = alice.post("/api/v1/billing/subscription/resume")
    assert response.json()["cancel_at_period_end"] is False
    assert sdk.v1.subscriptions.retrieve(subscription["id"]).cancel_at_period_end is False
    keys = [
        r["idempotency_key"]
        for r in shape.requests()
        if r["path"] == f"/v1/subscriptions/{subscription['id']}" and r["method"] == "POST"
    ]
    assert len(keys) == len(set(keys)) == 2  # two deliberate writes, two keys
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"subscription.cancel_scheduled", "subscription.cancel_undone"} <= actions


def test_nothing_to_cancel_on_the_free_plan(client_for, world):
    response = client_for(world["alice"], world["tenant_a"]).post(
        "/api/v1/billing/subscription/cancel"
    )
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/conflict"


def test_a_waived_plan_without_a_period_is_not_cancelled_at_a_period_end(
    client_for, world, account, pro
):
    """It runs until changed: "at period end" would never come (it answered 200 and never
    ended), and ending it at once is not what was asked. 409, nothing changes; the free plan
    ends it now; once an operator sets a period end, it can be cancelled at it."""
    import datetime as dt

    services.operator_waive(account=account, waived=True, actor=Actor(user=world["operator"]))
    alice = client_for(world["alice"], world["tenant_a"])
    response = alice.post("/api/v1/billing/checkout", {"plan": pro.slug}, format="json")
    assert response.json()["activated"] is True

    response = alice.post("/api/v1/billing/subscription/cancel")
    assert response.status_code == 409, response.json()
    assert response.json()["type"] == "/problems/conflict"
    assert "free plan" in response.json()["detail"]
    account = reload(account)
    assert account.plan == pro and account.cancel_at_period_end is False
    assert services.subscriptions_end_local(now=dt.datetime(2100, 1, 1, tzinfo=dt.UTC)) == 0

    end = dt.datetime(2030, 1, 31, tzinfo=dt.UTC)
    services.operator_period_end_set(
        account=account, period_end=end, actor=Actor(user=world["operator"])
    )
    response = alice.post("/api/v1/billing/subscription/cancel")
    assert response.status_code == 200 and response.json()["cancel_at_period_end"] is True
    assert services.subscriptions_end_local(now=end - dt.timedelta(seconds=1)) == 0
    assert services.subscriptions_end_local(now=end) == 1
    account = reload(account)
    assert account.plan == selectors.plan_free() and account.status == "canceled"


def test_a_waived_plan_ends_now_on_the_free_plan(client_for, world, account, pro):
    services.operator_waive(account=account, waived=True, actor=Actor(user=world["operator"]))
    alice = client_for(world["alice"], world["tenant_a"])
    alice.post("/api/v1/billing/checkout", {"plan": pro.slug}, format="json")
    response = alice.post("/api/v1/billing/checkout", {"plan": "free"}, format="json")
    assert response.json()["activated"] is True
    assert reload(account).plan == selectors.plan_free()


def test_operator_waives_assigns_edits_and_cancels(world, sdk, account, pro, webhook):
    operator = world["operator"]
    with pytest.raises(Exception, match="Waive"):
        services.operator_plan_assign(account=account, plan=pro, actor=Actor(user=operator))
    services.operator_waive(account=account, waived=True, actor=Actor(user=operator))
    services.operator_plan_assign(
        account=account, plan=pro, actor=Actor(user=operator), interval="year"
    )
    account = reload(account)
    assert account.plan == pro and account.interval == "year" and account.status == "active"

    import datetime as dt

    end = dt.datetime(2027, 1, 31, tzinfo=dt.UTC)
    services.operator_period_end_set(account=account, period_end=end, actor=Actor(user=operator))
    assert reload(account).current_period_end == end

    services.credits_adjust(
        account=account, amount=250, description="Goodwill", actor=Actor(user=operator)
    )
    assert selectors.credit_balances(account)["purchased"] == 250

    services.operator_subscription_cancel(
        account=account, actor=Actor(user=operator), immediate=True
    )
    account = reload(account)
    assert account.plan == selectors.plan_free() and account.status == "canceled"
    audit = AuditEvent.objects.filter(tenant_id=account.tenant_id)
    actions = set(audit.values_list("action", flat=True))
    assert {
        "billing.waived",
        "subscription.assigned",
        "subscription.period_end_edited",
        "credits.adjusted",
        "subscription.canceled",
    } <= actions


def test_operator_cancels_a_stripe_subscription_now(world, sdk, account, pro, webhook):
    subscription = subscription_start(sdk, account, pro)
    webhook("customer.subscription.created", subscription)
    services.operator_subscription_cancel(
        account=account, actor=Actor(user=world["operator"]), immediate=True
    )
    assert sdk.v1.subscriptions.retrieve(subscription["id"]).status == "canceled"
    account = reload(account)
    assert account.status == "canceled" and account.plan == selectors.plan_free()


@pytest.fixture
def price():
    return monthly_price(plan_synced())


# --- Review D fix: Old events of another subscription ---------------------------------------------


def test_a_late_update_of_an_ended_subscription_does_not_take_over(world, webhook, price):
    account = account_with_customer(world["tenant_a"])
    now = int(time.time())
    webhook(
        "customer.subscription.created",
        stripe_subscription("sub_A", "active", price),
        created=now - 1000,
    )
    webhook(
        "customer.subscription.deleted",
        stripe_subscription("sub_A", "canceled", price, ended_at=now - 900),
        created=now - 900,
    )
    webhook(
        "customer.subscription.created",
        stripe_subscription("sub_B", "active", price),
        created=now - 100,
    )
    webhook(
        "customer.subscription.updated",
        stripe_subscription("sub_A", "active", price, cancel_at_period_end=True),
        created=now - 950,
    )
    webhook(
        "customer.subscription.updated",
        stripe_subscription("sub_A", "past_due", price),
        created=now - 940,
    )
    account.refresh_from_db()
    assert account.stripe_subscription_id == "sub_B"
    assert account.status == SubscriptionStatus.ACTIVE and not account.cancel_at_period_end
    assert account.past_due_since is None
    ignored = StripeEvent.objects.filter(type="customer.subscription.updated", status="ignored")
    assert ignored.count() == 2


def test_a_newer_live_subscription_still_takes_over(world, webhook, price):
    account = account_with_customer(world["tenant_a"])
    now = int(time.time())
    webhook(
        "customer.subscription.created",
        stripe_subscription("sub_A", "active", price),
        created=now - 1000,
    )
    webhook(
        "customer.subscription.created",
        stripe_subscription("sub_B", "trialing", price),
        created=now - 100,
    )
    account.refresh_from_db()
    assert account.stripe_subscription_id == "sub_B"
    assert account.status == SubscriptionStatus.TRIALING
