"""Billing data for tests, made through the services and the fake Stripe (no shortcuts)."""

from __future__ import annotations

from apps.billing import services
from apps.billing.models import BillingAccount, CreditBundle, Plan
from apps.billing.services.checkout import _customer_ensure
from apps.core.actor import Actor


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
        "memory_mb": 1024,
        "cpu_millicores": 2000,
        "pids": 512,
        "disk_mb": 10240,
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


def put_on(world, plan) -> None:
    """The operator moves tenant alpha to `plan` (billing waived: no Stripe)."""
    account = services.billing_account_ensure(tenant=world["tenant_a"])
    services.operator_waive(account=account, waived=True, actor=Actor(user=world["operator"]))
    services.operator_plan_assign(account=account, plan=plan, actor=Actor(user=world["operator"]))


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


# --- Stripe objects as webhook events carry them (tests that feed `webhook(...)` by hand) ------

STRIPE_CUSTOMER = "cus_review"  # the customer of account_with_customer()


def account_with_customer(tenant, customer: str = STRIPE_CUSTOMER) -> BillingAccount:
    """The tenant's billing account, known at "Stripe" as `customer` (no request to Stripe)."""
    account = services.billing_account_ensure(tenant=tenant)
    BillingAccount.objects.filter(pk=account.pk).update(stripe_customer_id=customer)
    account.refresh_from_db()
    return account


def monthly_price(plan: Plan):
    from apps.billing import selectors

    return selectors.stripe_price_current(plan=plan, interval="month")


def stripe_subscription(
    sub_id: str, status: str, price, customer: str = STRIPE_CUSTOMER, **fields
) -> dict:
    return {
        "id": sub_id,
        "object": "subscription",
        "customer": customer,
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


def stripe_invoice_failed(invoice_id: str, customer: str = STRIPE_CUSTOMER) -> dict:
    return {
        "id": invoice_id,
        "customer": customer,
        "currency": "usd",
        "total": 2900,
        "amount_due": 2900,
        "amount_paid": 0,
    }


def stripe_invoice_paid(invoice_id: str, customer: str = STRIPE_CUSTOMER) -> dict:
    return {
        "id": invoice_id,
        "customer": customer,
        "currency": "usd",
        "total": 2900,
        "subtotal": 2900,
        "amount_paid": 2900,
        "status": "paid",
    }
