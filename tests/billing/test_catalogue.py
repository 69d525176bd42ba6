"""Plans and bundles: the free plan new tenants start on, and the push to Stripe."""

import pytest

from apps.billing import selectors, services
from apps.billing.models import CreditBundle, Plan, StripePrice
from apps.core.actor import SYSTEM, Actor
from apps.core.problems import Conflict
from apps.tenants.selectors import tenant_limit

pytestmark = pytest.mark.django_db


def make_plan(**fields) -> Plan:
    defaults = {
        "name": "Pro",
        "slug": "pro",
        "monthly_price_cents": 2900,
        "annual_discount_pct": 20,
        "credits_per_month": 1000,
        "user_limit": 10,
        "max_apps": 10,
    }
    return services.plan_save(plan=Plan(**{**defaults, **fields}))


def test_a_free_system_plan_exists_and_a_new_tenant_starts_on_it(world):
    free = selectors.plan_free()
    assert free.is_system and free.is_free and free.slug == "free"
    account = services.billing_account_ensure(tenant=world["tenant_a"])
    assert account.plan == free
    assert account.status == "active"
    tenant = world["tenant_a"].__class__.objects.get(pk=world["tenant_a"].pk)
    assert tenant.entitlements == free.entitlements()
    assert tenant_limit(tenant, "users") == free.user_limit
    # The first month's credits of the free plan came with it.
    assert selectors.credit_balances(account)["subscription"] == free.credits_per_month


def test_ensure_is_idempotent(world):
    first = services.billing_account_ensure(tenant=world["tenant_a"])
    assert services.billing_account_ensure(tenant=world["tenant_a"]).pk == first.pk


def test_annual_price_is_twelve_months_less_the_discount():
    plan = Plan(monthly_price_cents=2900, annual_discount_pct=20)
    assert plan.annual_price_cents == 27840
    assert Plan(monthly_price_cents=999, annual_discount_pct=15).annual_price_cents == 10190
    assert plan.price_cents("month") == 2900 and plan.price_cents("year") == 27840


def test_sync_makes_a_product_and_two_prices_with_pinned_version_and_keys(settings, shape):
    plan = make_plan()
    services.plan_sync_to_stripe(plan=plan)
    plan.refresh_from_db()
    assert plan.stripe_product_id.startswith("prod_") and plan.stripe_synced_at
    prices = {p.interval: p for p in StripePrice.objects.filter(plan=plan, active=True)}
    assert prices["month"].unit_amount == 2900 and prices["year"].unit_amount == 27840
    assert selectors.plan_for_stripe_price(prices["year"].stripe_price_id) == (plan, "year")

    catalogue_paths = ("/v1/products", "/v1/prices")
    posts = [r for r in shape.requests() if r["method"] == "POST" and r["path"] in catalogue_paths]
    mine = [r for r in posts if str(plan.pk) in (r["idempotency_key"] or "")]
    assert len(mine) == 3
    assert {r["stripe_version"] for r in mine} == {settings.STRIPE_API_VERSION}
    assert f"qs-plan-{plan.pk}-product" in {r["idempotency_key"] for r in mine}


def test_sync_again_changes_nothing_and_a_new_price_retires_the_old(shape):
    plan = make_plan()
    services.plan_sync_to_stripe(plan=plan)
    before = set(StripePrice.objects.filter(plan=plan).values_list("stripe_price_id", flat=True))
    services.plan_sync_to_stripe(plan=plan)
    after = set(StripePrice.objects.filter(plan=plan).values_list("stripe_price_id", flat=True))
    assert after == before

    plan.monthly_price_cents = 3900
    services.plan_save(plan=plan)
    services.plan_sync_to_stripe(plan=plan)
    active = StripePrice.objects.filter(plan=plan, active=True)
    assert {p.unit_amount for p in active} == {3900, 37440}
    retired = StripePrice.objects.filter(plan=plan, active=False)
    assert {p.unit_amount for p in retired} == {2900, 27840}
    # Subscriptions still on a retired price keep mapping to the plan.
    assert selectors.plan_for_stripe_price(retired.first().stripe_price_id)[0] == plan


def test_free_plans_are_not_synced():
    with pytest.raises(Conflict):
        services.plan_sync_to_stripe(plan=selectors.plan_free())


def test_bundle_sync_makes_a_one_time_price():
    bundle = services.bundle_save(
        bundle=CreditBundle(name="500 credits", credits=500, price_cents=4900)
    )
    services.bundle_sync_to_stripe(bundle=bundle)
    price = StripePrice.objects.get(bundle=bundle)
    assert price.interval == "" and price.unit_amount == 4900 and price.active


def test_changed_limits_are_written_onto_every_tenant_on_the_plan(
    world, django_capture_on_commit_callbacks
):
    plan = make_plan()
    account = services.billing_account_ensure(tenant=world["tenant_a"])
    account.billing_waived = True
    account.save()
    services.operator_plan_assign(account=account, plan=plan, actor=Actor(user=world["operator"]))
    plan.user_limit = 25
    with django_capture_on_commit_callbacks() as callbacks:
        services.plan_save(plan=plan)
    assert len(callbacks) == 1  # the refresh task is enqueued once committed
    assert services.entitlements_refresh(plan_id=plan.pk) == 1
    world["tenant_a"].refresh_from_db()
    assert tenant_limit(world["tenant_a"], "users") == 25


def test_the_free_plan_cannot_be_deleted_nor_a_plan_in_use(world):
    with pytest.raises(Conflict):
        services.plan_delete(plan=selectors.plan_free())
    plan = make_plan()
    account = services.billing_account_ensure(tenant=world["tenant_a"])
    account.billing_waived = True
    account.save()
    services.operator_plan_assign(account=account, plan=plan, actor=SYSTEM)
    with pytest.raises(Conflict):
        services.plan_delete(plan=plan)


def test_admin_sync_action_pushes_the_selected_plans(client, superuser):
    plan = make_plan()
    client.force_login(superuser)
    response = client.post(
        "/admin/billing/plan/",
        {"action": "sync_to_stripe", "_selected_action": [str(plan.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    plan.refresh_from_db()
    assert plan.stripe_product_id
    assert StripePrice.objects.filter(plan=plan, active=True).count() == 2
