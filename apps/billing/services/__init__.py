"""Writes of the billing app, one use case per function (see ARCHITECTURE.md §3 and §6).

Concurrency: everything that changes one tenant's billing state (plan, subscription, credits,
invoices, dunning) runs with that tenant's BillingAccount row locked FOR UPDATE, so webhook
handlers, API calls, admin actions and beat tasks for one tenant happen one at a time.
Calls to Stripe go through `stripe_client` only, with idempotency keys made of local ids; they are
made outside long transactions where the answer is stored afterwards (checkout, customer).

The services live in modules named for what they hold; this package re-exports them, so
`from apps.billing import services; services.checkout_start(...)` works as before:
catalogue (plans, bundles, Stripe products), accounts (accounts, plans, entitlements, settings),
subscriptions (state from Stripe), checkout (checkout, portal, cancel), operator (admin actions),
credits, invoices (invoices and transactions), dunning; `_common` and `_ledger` are private."""

from ._common import BillingForbidden, InsufficientCredits
from ._common import _billing_people as billing_people
from ._common import _lock as account_lock
from .accounts import (
    billing_account_ensure,
    billing_accounts_backfill,
    billing_settings_update,
    entitlements_refresh,
)
from .catalogue import (
    bundle_save,
    bundle_sync_to_stripe,
    plan_delete,
    plan_save,
    plan_sync_to_stripe,
)
from .checkout import (
    BILLING_PAGE_PATH,
    checkout_start,
    portal_open,
    subscription_cancel_at_period_end,
)
from .credits import credits_adjust, credits_consume, credits_grant_due, credits_grant_monthly
from .dunning import dunning_clear, dunning_enforce, dunning_start
from .invoices import (
    INVOICE_SEQUENCE,
    bundle_purchase_complete,
    invoice_issue,
    invoice_paid_from_stripe,
    invoice_payment_failed,
    invoice_record_from_stripe,
    refund_from_stripe,
)
from .operator import (
    operator_period_end_set,
    operator_plan_assign,
    operator_subscription_cancel,
    operator_waive,
    subscriptions_end_local,
)
from .subscriptions import STATUS_FROM_STRIPE, subscription_apply

__all__ = [
    "BILLING_PAGE_PATH",
    "INVOICE_SEQUENCE",
    "STATUS_FROM_STRIPE",
    "BillingForbidden",
    "InsufficientCredits",
    "account_lock",
    "billing_account_ensure",
    "billing_accounts_backfill",
    "billing_people",
    "billing_settings_update",
    "bundle_purchase_complete",
    "bundle_save",
    "bundle_sync_to_stripe",
    "checkout_start",
    "credits_adjust",
    "credits_consume",
    "credits_grant_due",
    "credits_grant_monthly",
    "dunning_clear",
    "dunning_enforce",
    "dunning_start",
    "entitlements_refresh",
    "invoice_issue",
    "invoice_paid_from_stripe",
    "invoice_payment_failed",
    "invoice_record_from_stripe",
    "operator_period_end_set",
    "operator_plan_assign",
    "operator_subscription_cancel",
    "operator_waive",
    "plan_delete",
    "plan_save",
    "plan_sync_to_stripe",
    "portal_open",
    "refund_from_stripe",
    "subscription_apply",
    "subscription_cancel_at_period_end",
    "subscriptions_end_local",
]
