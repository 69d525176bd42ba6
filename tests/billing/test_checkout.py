"""Checkout, portal and config endpoints: who may buy, what Stripe is asked, what comes back."""

import pytest

from apps.billing import selectors, services
from apps.billing.models import BillingAccount, CheckoutSession, SubscriptionStatus
from apps.core.actor import Actor
from apps.tenants.models import Membership

from .factories import bundle_synced, plan_synced

pytestmark = pytest.mark.django_db

CHECKOUT = "/api/v1/billing/checkout"
PORTAL = "/api/v1/billing/portal"


@pytest.fixture
def pro():
    return plan_synced()


@pytest.fixture
def people(world, django_user_model):
    """An admin, a member and a viewer in alpha (whose owner is alice)."""
    made = {}
    for role in ("admin", "member", "viewer"):
        user = django_user_model.objects.create_user(
            username=f"{role}@alpha.example", email=f"{role}@alpha.example", password="x"
        )
        Membership.objects.create(tenant=world["tenant_a"], user=user, role=role)
        made[role] = user
    return made


def test_a_paid_plan_opens_a_stripe_checkout(client_for, world, pro, shape):
    response = client_for(world["alice"], world["tenant_a"]).post(
        CHECKOUT, {"plan": "pro", "interval": "year"}
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["activated"] is False
    assert body["checkout_url"].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    checkout = CheckoutSession.objects.get(pk=body["checkout_id"])
    account = checkout.account
    assert account.stripe_customer_id.startswith("cus_")  # made at (local)stripe
    post = next(r for r in shape.requests() if r["path"] == "/v1/checkout/sessions")
    assert post["idempotency_key"] == f"qs-checkout-{checkout.pk}"
    customer = next(r for r in shape.requests() if r["path"] == "/v1/customers")
    assert customer["idempotency_key"] == f"qs-customer-{account.pk}"
    # The account did not change yet: the webhook finishes the purchase.
    assert account.plan == selectors.plan_free()


def test_the_free_plan_activates_at_once_without_stripe(client_for, world, shape):
    before = len(shape.requests())
    response = client_for(world["alice"], world["tenant_a"]).post(CHECKOUT, {"plan": "free"})
    assert response.status_code == 200
    assert response.json() == {"checkout_url": None, "activated": True, "checkout_id": None}
    assert len(shape.requests()) == before


def test_a_waived_tenant_gets_a_paid_plan_at_once(client_for, world, pro, shape):
    account = services.billing_account_ensure(tenant=world["tenant_a"])
    services.operator_waive(account=account, waived=True, actor=Actor(user=world["operator"]))
    before = len(shape.requests())
    response = client_for(world["alice"], world["tenant_a"]).post(
        CHECKOUT, {"plan": pro.slug, "interval": "month"}
    )
    assert response.json()["activated"] is True
    account.refresh_from_db()
    assert account.plan == pro and account.status == SubscriptionStatus.ACTIVE
    assert len(shape.requests()) == before


def test_a_bundle_opens_a_payment_checkout(client_for, world, shape):
    bundle = bundle_synced()
    response = client_for(world["alice"], world["tenant_a"]).post(
        CHECKOUT, {"bundle": str(bundle.pk)}
    )
    assert response.status_code == 200, response.json()
    assert response.json()["checkout_url"]
    assert CheckoutSession.objects.get().bundle == bundle


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_may_not_buy(client_for, world, people, pro, role):
    response = client_for(people[role], world["tenant_a"]).post(CHECKOUT, {"plan": "pro"})
    assert response.status_code == 403
    assert response.json()["type"] == "/problems/permission-denied"


def test_admins_buy_only_when_the_owner_allows_it(client_for, world, people, pro):
    admin = client_for(people["admin"], world["tenant_a"])
    assert admin.post(CHECKOUT, {"plan": "pro"}).status_code == 403
    assert admin.patch("/api/v1/billing", {"admins_can_buy": True}).status_code == 403
    owner = client_for(world["alice"], world["tenant_a"])
    response = owner.patch("/api/v1/billing", {"admins_can_buy": True})
    assert response.status_code == 200 and response.json()["admins_can_buy"] is True
    assert admin.post(CHECKOUT, {"plan": "pro"}).status_code == 200


def test_checkout_input_is_checked(client_for, world, pro):
    client = client_for(world["alice"], world["tenant_a"])
    bad_bodies = (
        {},
        {"plan": "pro", "bundle": "3f2e1d0c-9b8a-4765-8432-10fedcba9876"},
        {"plan": "pro", "interval": "weekly"},
        {"bundle": "not-a-uuid"},
    )
    for body in bad_bodies:
        response = client.post(CHECKOUT, body)
        assert response.status_code == 400, body
        assert response.json()["type"] == "/problems/validation-error"
    response = client.post(CHECKOUT, "{broken", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/malformed-request"
    assert client.post(CHECKOUT, {"plan": "platinum"}).status_code == 404


def test_archived_and_unsynced_plans_cannot_be_bought(client_for, world):
    from .factories import plan_make

    plan_make(name="Team", slug="team")  # never synced
    client = client_for(world["alice"], world["tenant_a"])
    response = client.post(CHECKOUT, {"plan": "team"})
    assert response.status_code == 409
    archived = plan_synced(name="Old", slug="old", is_archived=True)
    assert client.post(CHECKOUT, {"plan": archived.slug}).status_code == 404


def test_a_second_subscription_is_refused(client_for, world, pro, sdk, webhook):
    from .factories import subscription_start

    account = services.billing_account_ensure(tenant=world["tenant_a"])
    webhook("customer.subscription.created", subscription_start(sdk, account, pro))
    response = client_for(world["alice"], world["tenant_a"]).post(CHECKOUT, {"plan": "pro"})
    assert response.status_code == 409
    assert "portal" in response.json()["detail"]


def test_without_stripe_keys_paid_checkout_is_unavailable(client_for, world, pro, settings):
    settings.STRIPE_SECRET_KEY = ""
    response = client_for(world["alice"], world["tenant_a"]).post(CHECKOUT, {"plan": "pro"})
    assert response.status_code == 503
    assert response.json()["type"] == "/problems/unavailable"


def test_portal_needs_a_stripe_customer_then_opens(client_for, world, pro):
    client = client_for(world["alice"], world["tenant_a"])
    assert client.post(PORTAL).status_code == 409
    client.post(CHECKOUT, {"plan": "pro"})  # makes the customer
    response = client.post(PORTAL)
    assert response.status_code == 200
    assert response.json()["portal_url"].startswith("https://billing.stripe.com/p/session/")


def test_portal_is_for_buyers_only(client_for, world, people):
    assert client_for(people["member"], world["tenant_a"]).post(PORTAL).status_code == 403


def test_config_returns_the_publishable_key_with_or_without_a_tenant(client_for, world, settings):
    for client in (client_for(world["alice"]), client_for(world["bob"], world["tenant_b"])):
        response = client.get("/api/v1/billing/config")
        assert response.status_code == 200
        assert response.json() == {"publishable_key": settings.STRIPE_PUBLISHABLE_KEY}


def test_the_account_shows_plan_status_credits_and_limits(client_for, world, people):
    response = client_for(people["viewer"], world["tenant_a"]).get("/api/v1/billing")
    assert response.status_code == 200
    body = response.json()
    assert body["plan"]["slug"] == "free" and body["status"] == "active"
    assert body["credits"]["total"] == selectors.plan_free().credits_per_month
    assert body["limits"]["users"] == selectors.plan_free().user_limit
    assert BillingAccount.objects.filter(tenant=world["tenant_a"]).count() == 1


def test_plans_and_bundles_are_listed(client_for, world, pro):
    plan_synced(name="Hidden", slug="hidden", is_public=False)
    bundle = bundle_synced()
    client = client_for(world["alice"], world["tenant_a"])
    plans = client.get("/api/v1/billing/plans").json()
    assert {p["slug"] for p in plans["results"]} == {"free", "pro"}
    pro_out = next(p for p in plans["results"] if p["slug"] == "pro")
    assert pro_out["annual_price_cents"] == 27840 and pro_out["entitlements"]["users"] == 10
    bundles = client.get("/api/v1/billing/bundles").json()
    assert [b["id"] for b in bundles["results"]] == [str(bundle.pk)]


def test_settings_input_is_checked(client_for, world):
    client = client_for(world["alice"], world["tenant_a"])
    response = client.patch("/api/v1/billing", {"admins_can_buy": "maybe"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "admins_can_buy"
