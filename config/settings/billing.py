"""Plans, Stripe, credits, invoices, dunning. Imported by base.py."""

import environ

env = environ.Env()
