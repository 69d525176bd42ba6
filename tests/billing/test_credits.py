"""The credits ledger: monthly grants (reset vs accrue), purchases, usage, history."""

import pytest
from django.db import DatabaseError, connection, transaction

from apps.billing import selectors, services
from apps.billing.models import CreditEntry, CreditKind, StripeEvent
from apps.core.actor import SYSTEM, Actor

from .factories import STRIPE_CUSTOMER, account_with_customer, bundle_synced, plan_make

pytestmark = pytest.mark.django_db


def account_on(world, plan, tenant="tenant_a"):
    account = services.billing_account_ensure(tenant=world[tenant])
    services.operator_waive(account=account, waived=True, actor=Actor(user=world["operator"]))
    services.operator_plan_assign(account=account, plan=plan, actor=Actor(user=world["operator"]))
    return account


def spend(world, amount, tenant="tenant_a", **kwargs):
    return services.credits_consume(
        tenant=world[tenant], amount=amount, description="test", **kwargs
    )


@pytest.mark.parametrize(
    ("policy", "after_second_grant"),
    [("reset", 100), ("accrue", 170)],
)
def test_monthly_grant_resets_or_accrues(world, policy, after_second_grant):
    plan = plan_make(
        name=policy, slug=policy, credits_per_month=100, bonus_credits=0, credit_reset_policy=policy
    )
    account = account_on(world, plan)
    services.credits_grant_monthly(account_id=account.pk, period="2030-01")
    subscription_before = selectors.credit_balances(account)["subscription"]
    spend(world, subscription_before - 70)  # 70 left unused at the end of January
    assert selectors.credit_balances(account)["subscription"] == 70

    assert services.credits_grant_monthly(account_id=account.pk, period="2030-02") is True
    assert selectors.credit_balances(account)["subscription"] == after_second_grant
    resets = CreditEntry.objects.filter(
        account=account, kind=CreditKind.RESET, metadata__period="2030-02"
    )
    if policy == "reset":
        assert [e.amount for e in resets] == [-70]
    else:
        assert not resets.exists()
    # A month is granted once, however often the beat task runs.
    assert services.credits_grant_monthly(account_id=account.pk, period="2030-02") is False
    assert selectors.credit_balances(account)["subscription"] == after_second_grant


def test_purchased_credits_survive_a_reset(world):
    plan = plan_make(name="R", slug="r", credits_per_month=100, bonus_credits=0)
    account = account_on(world, plan)
    services.credits_adjust(account=account, amount=40, description="bought", actor=SYSTEM)
    services.credits_grant_monthly(account_id=account.pk, period="2030-03")
    services.credits_grant_monthly(account_id=account.pk, period="2030-04")
    balances = selectors.credit_balances(account)
    assert balances["purchased"] == 40 and balances["subscription"] == 100


def test_the_beat_task_grants_every_account_once_per_month(world):
    plan = plan_make(name="Beat", slug="beat", credits_per_month=10, bonus_credits=0)
    account_on(world, plan, "tenant_a")
    account_on(world, plan, "tenant_b")
    import datetime as dt

    future = dt.datetime(2031, 5, 3, tzinfo=dt.UTC)
    assert services.credits_grant_due(now=future) >= 2
    assert services.credits_grant_due(now=future) == 0


def test_usage_takes_subscription_credits_first_and_never_goes_below_zero(world):
    account = services.billing_account_ensure(tenant=world["tenant_a"])
    services.credits_adjust(account=account, amount=50, description="bought", actor=SYSTEM)
    free = selectors.plan_free().credits_per_month
    result = spend(world, free + 20)
    assert result["balance"] == {"subscription": 0, "purchased": 30, "total": 30}
    with pytest.raises(services.InsufficientCredits):
        spend(world, 31)
    assert selectors.credit_balances(account)["total"] == 30
    last = CreditEntry.objects.filter(account=account).order_by("created_at").last()
    assert last.balance_after == 30


def test_usage_api_refuses_with_402_problem_details(client_for, world):
    client = client_for(world["alice"], world["tenant_a"])
    balance = client.get("/api/v1/billing/credits").json()["total"]
    response = client.post(
        "/api/v1/billing/credits/usage", {"amount": balance + 1, "description": "Build"}
    )
    assert response.status_code == 402
    body = response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert body["type"] == "/problems/insufficient-credits"
    assert body["required"] == balance + 1 and body["balance"] == balance


def test_usage_with_a_reference_is_charged_once(client_for, world):
    client = client_for(world["alice"], world["tenant_a"])
    body = {"amount": 5, "description": "Build 812", "reference": "build-812"}
    first = client.post("/api/v1/billing/credits/usage", body)
    second = client.post("/api/v1/billing/credits/usage", body)
    assert first.status_code == second.status_code == 201
    assert second.json()["replayed"] is True
    assert first.json()["balance"] == second.json()["balance"]


def test_usage_input_and_roles(client_for, world, django_user_model):
    from apps.tenants.models import Membership

    client = client_for(world["alice"], world["tenant_a"])
    for bad in ({"amount": 0, "description": "x"}, {"amount": "ten", "description": "x"}, {}):
        assert client.post("/api/v1/billing/credits/usage", bad).status_code == 400
    viewer = django_user_model.objects.create_user(username="v@x", email="v@x", password="x")
    Membership.objects.create(tenant=world["tenant_a"], user=viewer, role="viewer")
    response = client_for(viewer, world["tenant_a"]).post(
        "/api/v1/billing/credits/usage", {"amount": 1, "description": "x"}
    )
    assert response.status_code == 403


def test_history_is_the_tenants_own_newest_first(client_for, world):
    spend(world, 3, "tenant_a")
    spend(world, 4, "tenant_b")
    alpha = client_for(world["alice"], world["tenant_a"]).get("/api/v1/billing/credits/entries")
    assert alpha.status_code == 200
    amounts = [entry["amount"] for entry in alpha.json()["results"]]
    assert amounts[0] == -3 and -4 not in amounts
    only_usage = client_for(world["alice"], world["tenant_a"]).get(
        "/api/v1/billing/credits/entries?kind=usage"
    )
    assert {e["kind"] for e in only_usage.json()["results"]} == {"usage"}


def test_bundle_purchase_grants_purchased_credits(world, webhook):
    bundle = bundle_synced(credits=500, price_cents=4900)
    account = services.billing_account_ensure(tenant=world["tenant_a"])
    account.stripe_customer_id = "cus_bundle_buyer"
    account.save()
    session = {
        "id": "cs_test_bundle",
        "object": "checkout.session",
        "mode": "payment",
        "customer": "cus_bundle_buyer",
        "payment_status": "paid",
        "amount_total": 4900,
        "amount_subtotal": 4900,
        "currency": "usd",
        "payment_intent": "pi_bundle",
        "metadata": {"quayside_account_id": str(account.pk), "quayside_bundle_id": str(bundle.pk)},
    }
    webhook("checkout.session.completed", session)
    webhook("checkout.session.completed", session)  # a second delivery of a new event id
    assert selectors.credit_balances(account)["purchased"] == 500
    invoice = account.invoices.get()
    assert invoice.number and invoice.total_cents == 4900 and invoice.kind == "bundle"
    assert account.transactions.get().kind == "purchase"


def test_the_ledger_is_append_only(world):
    account = services.billing_account_ensure(tenant=world["tenant_a"])
    entry = CreditEntry.objects.filter(account=account).first()
    entry.amount = 10**6
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE billing_creditentry SET amount = 1 WHERE id = %s", [entry.pk])


def test_an_api_key_spends_credits_and_is_named_in_the_audit_but_cannot_buy(api_client, world):
    from apps.accounts.services import api_key_create
    from apps.core.models import AuditEvent

    _key, raw = api_key_create(
        tenant=world["tenant_a"],
        name="ci",
        authority="admin",
        actor=Actor(user=world["alice"], role="owner"),
    )
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_X_TENANT_ID="alpha")
    response = api_client.post(
        "/api/v1/billing/credits/usage", {"amount": 2, "description": "CI run"}, format="json"
    )
    assert response.status_code == 201, response.json()
    entry = CreditEntry.objects.filter(kind=CreditKind.USAGE).get()
    assert entry.actor is None
    response = api_client.post("/api/v1/billing/checkout", {"plan": "free"}, format="json")
    assert response.status_code == 403
    response = api_client.patch("/api/v1/billing", {"admins_can_buy": True}, format="json")
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="billing.settings_changed").exists()


# --- Review D fix: Bundles paid with delayed payment methods --------------------------------------


def test_a_bundle_paid_asynchronously_grants_its_credits_once(world, webhook):
    bundle = bundle_synced(credits=500, price_cents=4900)
    account = account_with_customer(world["tenant_a"])
    session = {
        "id": "cs_async_bundle",
        "object": "checkout.session",
        "mode": "payment",
        "customer": STRIPE_CUSTOMER,
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
