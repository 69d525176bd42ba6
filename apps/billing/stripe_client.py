"""Every call Quayside makes to Stripe, and nothing else talks to Stripe.

One `StripeClient` with the API version pinned in settings (STRIPE_API_VERSION), a timeout, a few
network retries, and the API base from settings (tests point it at localstripe plus a shape
server). Every write carries an idempotency key built from a local row id by the caller (see
`idempotency_key`), so a retried service never makes a second object at Stripe. Functions take
and return plain dicts, the shape webhook payloads have too."""

from __future__ import annotations

import functools
import logging
from typing import Any

import stripe
from django.conf import settings

from apps.core.problems import ApplicationError

logger = logging.getLogger(__name__)


class StripeError(ApplicationError):
    """Stripe could not do what we asked; `permanent` says whether retrying can help."""

    status = 503
    slug = "unavailable"

    def __init__(self, detail: str, *, permanent: bool = False) -> None:
        super().__init__(detail)
        self.permanent = permanent


class StripeNotConfigured(StripeError):
    def __init__(self) -> None:
        super().__init__("Payments are not configured on this installation.", permanent=True)


def idempotency_key(*parts: Any) -> str:
    """`qs-<part>-<part>…`: built from local ids (and a write counter where a write repeats)."""
    return "qs-" + "-".join(str(part) for part in parts)


def is_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


@functools.cache
def _client_for(
    api_key: str, api_base: str, api_version: str, timeout: float, retries: int
) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        stripe_version=api_version,
        base_addresses={"api": api_base},
        max_network_retries=retries,
        http_client=stripe.HTTPXClient(timeout=timeout, allow_sync_methods=True),
    )


def client() -> stripe.StripeClient:
    if not is_configured():
        raise StripeNotConfigured()
    return _client_for(
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE.rstrip("/"),
        settings.STRIPE_API_VERSION,
        settings.STRIPE_TIMEOUT_S,
        settings.STRIPE_MAX_NETWORK_RETRIES,
    )


def _call(description: str, function, *args, **kwargs) -> dict[str, Any]:
    try:
        return function(*args, **kwargs).to_dict()
    except stripe.InvalidRequestError as exc:
        logger.warning("Stripe refused %s: %s", description, exc.user_message or exc)
        raise StripeError(f"Stripe refused to {description}.", permanent=True) from exc
    except stripe.AuthenticationError as exc:
        logger.error("Stripe rejected the API key while trying to %s", description)
        raise StripeError("Payments are misconfigured (API key).", permanent=True) from exc
    except stripe.StripeError as exc:
        logger.warning("Stripe failed to %s: %s", description, exc)
        raise StripeError(f"Stripe is unavailable; could not {description}.") from exc


def account_check(*, timeout_s: float) -> dict[str, Any]:
    """The cheapest authenticated call (retrieve our own account), with a short timeout and no
    retries: the operator console's Stripe probe."""
    if not is_configured():
        raise StripeNotConfigured()
    quick = _client_for(
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE.rstrip("/"),
        settings.STRIPE_API_VERSION,
        timeout_s,
        0,
    )
    return _call("retrieve the account", quick.v1.accounts.retrieve_current)


def _options(key: str | None) -> dict[str, Any]:
    return {"idempotency_key": key} if key else {}


# --- Customers ------------------------------------------------------------------------------


def customer_create(*, key: str, name: str, email: str, metadata: dict[str, str]) -> dict:
    params: dict[str, Any] = {"name": name, "metadata": metadata}
    if email:
        params["email"] = email
    return _call(
        "create the customer", client().v1.customers.create, params=params, options=_options(key)
    )


# --- Catalogue ------------------------------------------------------------------------------


def product_create(*, key: str, name: str, metadata: dict[str, str]) -> dict:
    return _call(
        "create a product",
        client().v1.products.create,
        params={"name": name, "metadata": metadata},
        options=_options(key),
    )


def product_update(*, product_id: str, key: str, name: str, active: bool) -> dict:
    return _call(
        "update a product",
        client().v1.products.update,
        product_id,
        params={"name": name, "active": active},
        options=_options(key),
    )


def price_create(
    *,
    key: str,
    product_id: str,
    unit_amount: int,
    currency: str,
    interval: str | None,
    metadata: dict[str, str],
) -> dict:
    params: dict[str, Any] = {
        "product": product_id,
        "unit_amount": unit_amount,
        "currency": currency,
        "metadata": metadata,
    }
    if interval:
        params["recurring"] = {"interval": interval}
    return _call("create a price", client().v1.prices.create, params=params, options=_options(key))


def price_deactivate(*, price_id: str, key: str) -> dict:
    return _call(
        "archive a price",
        client().v1.prices.update,
        price_id,
        params={"active": False},
        options=_options(key),
    )


# --- Checkout and portal --------------------------------------------------------------------


def checkout_session_create(*, key: str, params: dict[str, Any]) -> dict:
    return _call(
        "open a checkout",
        client().v1.checkout.sessions.create,
        params=params,
        options=_options(key),
    )


def portal_session_create(*, key: str, customer_id: str, return_url: str) -> dict:
    return _call(
        "open the billing portal",
        client().v1.billing_portal.sessions.create,
        params={"customer": customer_id, "return_url": return_url},
        options=_options(key),
    )


# --- Subscriptions and invoices -------------------------------------------------------------


def subscription_retrieve(subscription_id: str) -> dict:
    return _call("read a subscription", client().v1.subscriptions.retrieve, subscription_id)


def subscription_update(*, subscription_id: str, key: str, params: dict[str, Any]) -> dict:
    return _call(
        "change the subscription",
        client().v1.subscriptions.update,
        subscription_id,
        params=params,
        options=_options(key),
    )


def subscription_cancel(*, subscription_id: str, key: str) -> dict:
    return _call(
        "cancel the subscription",
        client().v1.subscriptions.cancel,
        subscription_id,
        options=_options(key),
    )


def invoice_retrieve(invoice_id: str) -> dict:
    return _call("read an invoice", client().v1.invoices.retrieve, invoice_id)
