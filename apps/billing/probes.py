"""Billing's probe for the operator console's Integrations page (settings.INTEGRATION_PROBES)."""

from __future__ import annotations

from django.conf import settings

from apps.core.integrations import DOWN, NOT_CONFIGURED, ProbeResult, Timer, latency_status

from . import stripe_client


def probe_stripe() -> ProbeResult:
    base = settings.STRIPE_API_BASE
    if not stripe_client.is_configured():
        return ProbeResult("stripe", NOT_CONFIGURED, "STRIPE_SECRET_KEY is empty", details={})
    try:
        with Timer() as timer:
            account = stripe_client.account_check(timeout_s=settings.INTEGRATION_PROBE_TIMEOUT_S)
    except stripe_client.StripeError as exc:
        return ProbeResult("stripe", DOWN, f"{exc.detail} ({base})", details={"api_base": base})
    return ProbeResult(
        "stripe",
        latency_status(timer.ms),
        f"account {account.get('id', '?')} at {base}",
        timer.ms,
        {"api_base": base, "api_version": settings.STRIPE_API_VERSION},
    )
