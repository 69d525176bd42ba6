"""Plans, Stripe, credits, invoices, dunning. Imported by base.py."""

import environ

env = environ.Env()

# --- Stripe ---------------------------------------------------------------------------------
# Empty keys mean "Stripe not configured": paid checkout answers 503, free plans still work.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
# Where the SDK sends its requests; tests point it at localstripe plus a shape server.
STRIPE_API_BASE = env("STRIPE_API_BASE", default="https://api.stripe.com")
# Pinned: every request carries it, and webhook events of another version are stored but ignored
# (configure the Stripe webhook endpoint with the same version). Change it with the SDK.
STRIPE_API_VERSION = env("STRIPE_API_VERSION", default="2026-10-28.endive")
STRIPE_TIMEOUT_S = env.float("STRIPE_TIMEOUT_S", default=20.0)
# Retries inside the SDK for network errors and 409/5xx answers Stripe marks as retryable.
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
# A signed webhook older than this is refused as stale (Stripe's own default).
STRIPE_WEBHOOK_TOLERANCE_S = env.int("STRIPE_WEBHOOK_TOLERANCE_S", default=300)

# --- Billing --------------------------------------------------------------------------------
BILLING_CURRENCY = env("BILLING_CURRENCY", default="usd")
# Where Checkout and the portal send the customer back. Empty: the console's billing page on the
# tenant's host, with ROOT_URL's scheme and port (http://<slug>.localhost:8000/console/billing/
# in local mode, https://<slug>.<BASE_DOMAIN>/console/billing/ in production). Set, `{host}` in
# it is the tenant's host (`<slug>.<BASE_DOMAIN>`, no port).
BILLING_RETURN_URL = env("BILLING_RETURN_URL", default="")
# Days a past_due tenant keeps working before the dunning task suspends it.
BILLING_DUNNING_GRACE_DAYS = env.int("BILLING_DUNNING_GRACE_DAYS", default=7)
# Webhook processing: attempts and the first retry delay (doubling, capped at an hour).
BILLING_WEBHOOK_MAX_ATTEMPTS = env.int("BILLING_WEBHOOK_MAX_ATTEMPTS", default=8)
BILLING_WEBHOOK_RETRY_BASE_S = env.float("BILLING_WEBHOOK_RETRY_BASE_S", default=30.0)
# A webhook event left "processing" longer than this (a killed worker) is picked up again.
BILLING_WEBHOOK_STUCK_AFTER_S = env.int("BILLING_WEBHOOK_STUCK_AFTER_S", default=900)
# Seller details printed on invoices.
BILLING_SELLER_NAME = env("BILLING_SELLER_NAME", default="Quayside")
BILLING_SELLER_ADDRESS = env("BILLING_SELLER_ADDRESS", default="")
BILLING_INVOICE_PREFIX = env("BILLING_INVOICE_PREFIX", default="INV-")

# Periodic tasks of the billing app; base.py merges them into CELERY_BEAT_SCHEDULE.
BILLING_BEAT_SCHEDULE = {
    # Monthly credit grants (reset or accrue) are due on the 1st (UTC); hourly catches up.
    "billing.credits_grant_due": {"task": "billing.credits_grant_due", "schedule": 3600.0},
    # past_due beyond the grace period -> suspend the tenant.
    "billing.dunning_enforce": {"task": "billing.dunning_enforce", "schedule": 3600.0},
    # Webhook events whose worker died half way, and billing accounts for new tenants.
    "billing.housekeeping": {"task": "billing.housekeeping", "schedule": 600.0},
}
