"""Billing data for tests, made through the services and the fake Stripe (no shortcuts)."""

from __future__ import annotations

from apps.billing import services
from apps.billing.models import BillingAccount, CreditBundle, Plan
from apps.billing.services.checkout import _customer_ensure


def plan_make(**fields) -> Plan:
    defaults = {
        "name": "Pro",
        "slug": "pro",
        "monthly_price_cents": 2900,
        "annual_discount_pct": 20,
        "credits_per_month": 1000,
        "bonus_credits": 50,
        "user_limit": 10,
        "max_apps": 10,
        "max_processes": 30,
        "max_monitors": 50,
        "max_custom_domains": 10,
        "api_rate_limit_per_min": 600,
    }
    return services.plan_save(plan=Plan(**{**defaults, **fields}))


def plan_synced(**fields) -> Plan:
    plan = plan_make(**fields)
    services.plan_sync_to_stripe(plan=plan)
    plan.refresh_from_db()
    return plan


def bundle_synced(**fields) -> CreditBundle:
    defaults = {"name": "500 credits", "credits": 500, "price_cents": 4900}
    bundle = services.bundle_save(bundle=CreditBundle(**{**defaults, **fields}))
    services.bundle_sync_to_stripe(bundle=bundle)
    return bundle


def card_attach(sdk, customer_id: str, number: str = "4242424242424242") -> str:
    """What the customer does in Checkout: a card becomes the default payment method."""
    method = sdk.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    sdk.v1.payment_methods.attach(method.id, params={"customer": customer_id})
    sdk.v1.customers.update(
        customer_id, params={"invoice_settings": {"default_payment_method": method.id}}
    )
    return method.id


def subscription_start(sdk, account: BillingAccount, plan: Plan, interval: str = "month") -> dict:
    """A paid subscription at "Stripe" for the account, as Checkout would make it: a customer
    (through our service), a card, and a subscription on the plan's synced price."""
    from apps.billing import selectors

    customer_id = _customer_ensure(account)
    card_attach(sdk, customer_id)
    price = selectors.stripe_price_current(plan=plan, interval=interval)
    subscription = sdk.v1.subscriptions.create(
        params={
            "customer": customer_id,
            "items": [{"plan": price.stripe_price_id}],
            "metadata": {"quayside_account_id": str(account.pk)},
        }
    )
    return subscription.to_dict()
