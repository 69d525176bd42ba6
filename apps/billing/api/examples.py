"""Example bodies of the billing API for the OpenAPI schema."""

from __future__ import annotations

from .base import STAMP, problem_example

EXAMPLE_PLAN = {
    "id": "5b1f0c8e-2d4a-4e8b-9f3a-1c2d3e4f5a6b",
    "name": "Pro",
    "slug": "pro",
    "description": "For teams that ship every day.",
    "monthly_price_cents": 2900,
    "annual_price_cents": 27840,
    "annual_discount_pct": 20,
    "currency": "usd",
    "credits_per_month": 1000,
    "credit_reset_policy": "reset",
    "bonus_credits": 0,
    "entitlements": {
        "users": 10,
        "apps": 10,
        "processes": 30,
        "monitors": 50,
        "custom_domains": 10,
        "api_requests_per_min": 600,
        "memory_mb": 1024,
        "cpu_millicores": 2000,
        "pids": 512,
        "disk_mb": 10240,
    },
    "created_at": STAMP,
    "updated_at": STAMP,
}
EXAMPLE_ACCOUNT = {
    "id": "2c9d7a10-3b4e-4f5a-8b6c-7d8e9f0a1b2c",
    "plan": EXAMPLE_PLAN,
    "status": "active",
    "interval": "year",
    "billing_waived": False,
    "admins_can_buy": False,
    "has_payment_account": True,
    "current_period_start": "2026-01-15T00:00:00.000000Z",
    "current_period_end": "2027-01-15T00:00:00.000000Z",
    "cancel_at_period_end": False,
    "canceled_at": None,
    "trial_end": None,
    "past_due_since": None,
    "credits": {"subscription": 500, "purchased": 0, "total": 500},
    "limits": {"apps": 10, "users": 10},
    "created_at": STAMP,
    "updated_at": STAMP,
}
EXAMPLE_INVOICE = {
    "id": "7e6d5c4b-3a29-4180-9f8e-7d6c5b4a3928",
    "number": "INV-000042",
    "status": "paid",
    "kind": "subscription",
    "currency": "usd",
    "subtotal_cents": 27840,
    "discount_cents": 0,
    "tax_cents": 0,
    "total_cents": 27840,
    "amount_refunded_cents": 0,
    "bill_to_name": "Acme",
    "bill_to_email": "alice@acme.example",
    "period_start": "2026-01-15T00:00:00.000000Z",
    "period_end": "2027-01-15T00:00:00.000000Z",
    "issued_at": "2026-01-15T00:00:05.000000Z",
    "pdf_url": "/api/v1/billing/invoices/7e6d5c4b-3a29-4180-9f8e-7d6c5b4a3928/pdf",
    "lines": [
        {
            "description": "Pro (yearly)",
            "quantity": 1,
            "unit_amount_cents": 27840,
            "amount_cents": 27840,
            "period_start": "2026-01-15T00:00:00.000000Z",
            "period_end": "2027-01-15T00:00:00.000000Z",
        }
    ],
    "created_at": STAMP,
    "updated_at": STAMP,
}
FORBIDDEN_BUY = problem_example(
    403, "permission-denied", "Only the owner of this tenant may manage its billing."
)
