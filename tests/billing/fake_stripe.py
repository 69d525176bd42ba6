"""A Stripe API on 127.0.0.1 for the tests and the bench: localstripe plus a shape server.

    python tests/billing/fake_stripe.py --port 0 --state /tmp/run/localstripe.pickle

localstripe (PyPI) answers what it supports: customers, products, (legacy) plans, subscriptions,
invoices, charges. It lacks prices, Checkout sessions, the billing portal and the account; routes
added to the same aiohttp application answer those with the object shapes of Stripe's API
reference, so the SDK makes real HTTP calls to one API base. A recurring price is also made a
localstripe plan under the same id (Stripe keeps prices and plans in one id space), so tests can
start subscriptions on the prices our catalogue sync created.

Also like Stripe: a POST repeated with the same `Idempotency-Key` returns the first answer.
Test hooks under /_config/shape/ (no API key, like localstripe's /_config/): the request log,
faults (answer the next N matching requests with an error), completing a Checkout.

Stand-in pages (for the browser tests; off until `POST /_config/shape/stand_in` names the
app's webhook URL and signing secret): Checkout Sessions and portal sessions then get a `url` on
this server instead of checkout.stripe.com / billing.stripe.com. Its Checkout page's "Pay" does
what Stripe does: a card on the customer, the subscription on the session's price, the session
completed, then the signed `checkout.session.completed`, `customer.subscription.created` and
`invoice.paid` events delivered to the webhook URL, and a 303 to the session's `success_url`;
"Cancel" goes to `cancel_url`. The portal page links back to the session's `return_url`.
Prints `PORT <n>` once it listens (bound to 127.0.0.1 only, its own state file)."""

from __future__ import annotations

import argparse
import hashlib
import hmac
import html
import json
import secrets
import socket
import sys
import time

import aiohttp
from aiohttp import web
from localstripe import resources, server

ROUTES = web.RouteTableDef()
_prices: dict[str, dict] = {}
_sessions: dict[str, dict] = {}
_idempotent: dict[str, tuple[int, bytes]] = {}
_faults: list[dict] = []
_log: list[dict] = []
_portals: dict[str, dict] = {}
_stand_in: dict = {}  # {"webhook_url", "secret", "api_version"} while the stand-in pages are on
STAND_IN = "/_config/shape/pages"


def _id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


def _error(status: int, message: str, code: str = "") -> web.Response:
    body = {"error": {"type": "invalid_request_error", "message": message, "code": code or None}}
    return web.json_response(body, status=status)


async def _form(request: web.Request) -> dict:
    return await server.get_post_data(request) or {}


def _customer_exists(customer_id: str | None) -> bool:
    try:
        resources.Customer._api_retrieve(customer_id or "")
    except Exception:
        return False
    return True


# --- Prices ---------------------------------------------------------------------------------


@ROUTES.post("/v1/prices")
async def price_create(request: web.Request) -> web.Response:
    data = await _form(request)
    product = data.get("product")
    try:
        resources.Product._api_retrieve(product or "")
        unit_amount = int(data["unit_amount"])
        currency = str(data["currency"]).lower()
    except Exception:
        return _error(400, "product, unit_amount and currency are required", "parameter_missing")
    recurring = data.get("recurring")
    price_id = _id("price_")
    price = {
        "id": price_id,
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": int(time.time()),
        "currency": currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": data.get("lookup_key"),
        "metadata": data.get("metadata") or {},
        "nickname": data.get("nickname"),
        "product": product,
        "recurring": None,
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "one_time",
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }
    if recurring:
        interval = recurring.get("interval")
        if interval not in ("day", "week", "month", "year"):
            return _error(400, "recurring[interval] is invalid", "parameter_invalid")
        price["type"] = "recurring"
        price["recurring"] = {
            "interval": interval,
            "interval_count": int(recurring.get("interval_count", 1)),
            "meter": None,
            "trial_period_days": None,
            "usage_type": "licensed",
        }
        resources.Plan(
            id=price_id, product=product, amount=unit_amount, currency=currency, interval=interval
        )
    _prices[price_id] = price
    return web.json_response(price)


@ROUTES.get("/v1/prices/{id}")
async def price_retrieve(request: web.Request) -> web.Response:
    price = _prices.get(request.match_info["id"])
    return web.json_response(price) if price else _error(404, "No such price", "resource_missing")


@ROUTES.post("/v1/prices/{id}")
async def price_update(request: web.Request) -> web.Response:
    price = _prices.get(request.match_info["id"])
    if price is None:
        return _error(404, "No such price", "resource_missing")
    data = await _form(request)
    if "active" in data:
        price["active"] = str(data["active"]).lower() == "true"
    if "metadata" in data:
        price["metadata"].update(data["metadata"])
    return web.json_response(price)


# --- Checkout -------------------------------------------------------------------------------


@ROUTES.post("/v1/checkout/sessions")
async def checkout_session_create(request: web.Request) -> web.Response:
    data = await _form(request)
    mode = data.get("mode")
    items = data.get("line_items") or []
    if mode not in ("payment", "subscription", "setup") or not items:
        return _error(400, "mode and line_items are required", "parameter_missing")
    if not data.get("success_url"):
        return _error(400, "success_url is required", "parameter_missing")
    if data.get("customer") and not _customer_exists(data["customer"]):
        return _error(400, "No such customer", "resource_missing")
    amount = 0
    for item in items:
        price = _prices.get(item.get("price", ""))
        if price is None or not price["active"]:
            return _error(400, "No such price", "resource_missing")
        if (price["type"] == "recurring") != (mode == "subscription"):
            return _error(400, "Price type does not match the mode", "parameter_invalid")
        amount += price["unit_amount"] * int(item.get("quantity", 1))
    session_id = _id("cs_test_")
    session = {
        "id": session_id,
        "object": "checkout.session",
        "amount_subtotal": amount,
        "amount_total": amount,
        "cancel_url": data.get("cancel_url"),
        "client_reference_id": data.get("client_reference_id"),
        "created": int(time.time()),
        "currency": _prices[items[0]["price"]]["currency"],
        "customer": data.get("customer"),
        "customer_email": data.get("customer_email"),
        "expires_at": int(time.time()) + 24 * 3600,
        "invoice": None,
        "livemode": False,
        "metadata": data.get("metadata") or {},
        "mode": mode,
        "payment_intent": None,
        "payment_status": "unpaid",
        "status": "open",
        "subscription": None,
        "success_url": data["success_url"],
        "url": f"https://checkout.stripe.com/c/pay/{session_id}",
        # Not Stripe's field (it keeps them unexposed): what the stand-in page subscribes with.
        "_line_items": items,
        "_subscription_metadata": (data.get("subscription_data") or {}).get("metadata") or {},
    }
    if _stand_in:
        session["url"] = f"http://{request.host}{STAND_IN}/checkout/{session_id}"
    _sessions[session_id] = session
    return web.json_response(_public(session))


@ROUTES.get("/v1/checkout/sessions/{id}")
async def checkout_session_retrieve(request: web.Request) -> web.Response:
    session = _sessions.get(request.match_info["id"])
    if session is None:
        return _error(404, "No such checkout session", "resource_missing")
    return web.json_response(_public(session))


# --- Billing portal, account ----------------------------------------------------------------


@ROUTES.post("/v1/billing_portal/sessions")
async def portal_session_create(request: web.Request) -> web.Response:
    data = await _form(request)
    if not _customer_exists(data.get("customer")):
        return _error(400, "No such customer", "resource_missing")
    session_id = _id("bps_")
    url = f"https://billing.stripe.com/p/session/test_{session_id}"
    if _stand_in:
        _portals[session_id] = {"customer": data["customer"], "return_url": data.get("return_url")}
        url = f"http://{request.host}{STAND_IN}/portal/{session_id}"
    return web.json_response(
        {
            "id": session_id,
            "object": "billing_portal.session",
            "configuration": "bpc_" + secrets.token_hex(8),
            "created": int(time.time()),
            "customer": data["customer"],
            "flow": None,
            "livemode": False,
            "locale": None,
            "on_behalf_of": None,
            "return_url": data.get("return_url"),
            "url": url,
        }
    )


@ROUTES.get("/v1/account")
async def account_retrieve(request: web.Request) -> web.Response:
    return web.json_response(
        {"id": "acct_quaysidetest", "object": "account", "charges_enabled": True}
    )


def _public(session: dict) -> dict:
    return {key: value for key, value in session.items() if not key.startswith("_")}


# --- Stand-in pages: Checkout and the portal, as a browser meets them ------------------------


@ROUTES.post("/_config/shape/stand_in")
async def stand_in_configure(request: web.Request) -> web.Response:
    """{"webhook_url": ..., "secret": "whsec_...", "api_version": ...}; {} turns them off."""
    _stand_in.clear()
    _stand_in.update(await request.json())
    return web.json_response(_stand_in)


def _page(title: str, body: str) -> web.Response:
    text = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font:16px system-ui,sans-serif;max-width:28rem;margin:3rem auto;"
        "padding:0 1rem;color:#1f2937}button{font:inherit;padding:.6rem 1.2rem;"
        "background:#635bff;color:#fff;border:0;border-radius:6px}a{color:#3730a3}</style>"
        f"</head><body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )
    return web.Response(text=text, content_type="text/html")


async def _stripe(http: aiohttp.ClientSession, base: str, method: str, path: str, **data) -> dict:
    """A call to this same server's API, as Stripe's own backend would make it."""
    headers = {"Authorization": "Bearer sk_test_" + "standinpages000000000000"}
    async with http.request(method, base + path, data=data or None, headers=headers) as answer:
        body = await answer.json()
        if answer.status >= 400:
            raise web.HTTPBadGateway(text=f"{path}: {body}")
        return body


async def _deliver(http: aiohttp.ClientSession, event_type: str, obj: dict) -> None:
    """A signed event to the app's webhook, with Stripe's signature scheme."""
    event = {
        "id": _id("evt_"),
        "object": "event",
        "api_version": _stand_in.get("api_version"),
        "created": int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }
    body = json.dumps(event)
    timestamp = int(time.time())
    signature = hmac.new(
        _stand_in["secret"].encode(), f"{timestamp}.{body}".encode(), hashlib.sha256
    ).hexdigest()
    headers = {
        "Stripe-Signature": f"t={timestamp},v1={signature}",
        "Content-Type": "application/json",
    }
    async with http.post(_stand_in["webhook_url"], data=body, headers=headers) as answer:
        if answer.status != 200:
            raise web.HTTPBadGateway(text=f"webhook {event_type}: {answer.status}")


@ROUTES.get(STAND_IN + "/checkout/{id}")
async def stand_in_checkout(request: web.Request) -> web.Response:
    session = _sessions.get(request.match_info["id"])
    if session is None or session["status"] != "open":
        return web.Response(status=404, text="No such open checkout session")
    amount = f"{session['currency'].upper()} {session['amount_total'] / 100:.2f}"
    return _page(
        "Stripe Checkout (test stand-in)",
        f"<p>Pay <strong>{amount}</strong> with the test card 4242 4242 4242 4242.</p>"
        f'<form method="post" action="{STAND_IN}/checkout/{session["id"]}/pay">'
        '<button type="submit">Pay</button></form>'
        f'<p><a href="{html.escape(session["cancel_url"] or "")}">Cancel and go back</a></p>',
    )


@ROUTES.post(STAND_IN + "/checkout/{id}/pay")
async def stand_in_checkout_pay(request: web.Request) -> web.Response:
    session = _sessions.get(request.match_info["id"])
    if session is None or session["status"] != "open" or not _stand_in:
        return web.Response(status=404, text="No such open checkout session")
    base = f"http://{request.host}"
    customer = session["customer"]
    async with aiohttp.ClientSession() as http:
        method = await _stripe(
            http, base, "POST", "/v1/payment_methods", type="card",
            **{"card[number]": "4242424242424242", "card[exp_month]": "12",
               "card[exp_year]": "2034", "card[cvc]": "123"},
        )  # fmt: skip
        await _stripe(
            http, base, "POST", f"/v1/payment_methods/{method['id']}/attach", customer=customer
        )
        await _stripe(
            http, base, "POST", f"/v1/customers/{customer}",
            **{"invoice_settings[default_payment_method]": method["id"]},
        )  # fmt: skip
        fields = {"customer": customer}
        for n, item in enumerate(session["_line_items"]):
            fields[f"items[{n}][plan]"] = item["price"]
        for key, value in session["_subscription_metadata"].items():
            fields[f"metadata[{key}]"] = value
        subscription = await _stripe(http, base, "POST", "/v1/subscriptions", **fields)
        session.update(status="complete", payment_status="paid", subscription=subscription["id"])
        await _deliver(http, "checkout.session.completed", _public(session))
        await _deliver(http, "customer.subscription.created", subscription)
        invoices = await _stripe(http, base, "GET", f"/v1/invoices?customer={customer}")
        for invoice in invoices.get("data", [])[:1]:
            await _deliver(http, "invoice.paid", invoice)
    raise web.HTTPSeeOther(session["success_url"])


@ROUTES.get(STAND_IN + "/portal/{id}")
async def stand_in_portal(request: web.Request) -> web.Response:
    portal = _portals.get(request.match_info["id"])
    if portal is None:
        return web.Response(status=404, text="No such portal session")
    back = html.escape(portal["return_url"] or "")
    return _page(
        "Stripe customer portal (test stand-in)",
        f"<p>Cards, invoices and the subscription of <code>{portal['customer']}</code> are "
        "managed here at Stripe.</p>"
        f'<p><a id="portal-return" href="{back}">Return to Quayside</a></p>',
    )


# --- Test hooks -----------------------------------------------------------------------------


@ROUTES.post("/_config/shape/faults")
async def fault_add(request: web.Request) -> web.Response:
    """{"method": "GET", "path": "/v1/subscriptions/sub_x", "times": 1, "status": 500}"""
    _faults.append(await request.json())
    return web.json_response({"faults": len(_faults)})


@ROUTES.get("/_config/shape/requests")
async def requests_log(request: web.Request) -> web.Response:
    return web.json_response(_log)


@ROUTES.post("/_config/shape/checkout/{id}/complete")
async def checkout_complete(request: web.Request) -> web.Response:
    """What Stripe does when the customer pays: the session completes (a subscription, for
    subscription mode, is made by the test with the SDK, as Checkout would)."""
    session = _sessions.get(request.match_info["id"])
    if session is None:
        return _error(404, "No such checkout session", "resource_missing")
    data = await request.json()
    session.update(status="complete", payment_status="paid", **data)
    return web.json_response(_public(session))


@web.middleware
async def stripe_like(request: web.Request, handler):
    if request.path.startswith("/_config/shape/"):
        return await handler(request)
    _log.append(
        {
            "method": request.method,
            "path": request.path,
            "idempotency_key": request.headers.get("Idempotency-Key"),
            "stripe_version": request.headers.get("Stripe-Version"),
        }
    )
    for fault in _faults:
        matches = fault.get("method", request.method) == request.method and request.path.startswith(
            fault["path"]
        )
        if matches and fault.get("times", 0) > 0:
            fault["times"] -= 1
            return _error(int(fault.get("status", 500)), "Injected fault", "injected")
    key = request.headers.get("Idempotency-Key")
    if request.method == "POST" and key:
        cache_key = f"{request.path} {key}"
        if cache_key in _idempotent:
            status, body = _idempotent[cache_key]
            return web.Response(
                status=status,
                body=body,
                content_type="application/json",
                headers={"Idempotent-Replayed": "true"},
            )
        response = await handler(request)
        if response.status < 500 and isinstance(response, web.Response):
            _idempotent[cache_key] = (response.status, response.body)
        return response
    return await handler(request)


def use_state_file(path: str) -> None:
    """localstripe keeps its state in /tmp/localstripe.pickle; this run keeps its own."""
    import pickle

    def load(self) -> None:
        try:
            with open(path, "rb") as handle:
                self.update(pickle.load(handle))  # noqa: S301 (our own state file)
        except FileNotFoundError:
            pass

    def dump(self) -> None:
        with open(path, "wb") as handle:
            pickle.dump(self, handle, protocol=pickle.HIGHEST_PROTOCOL)

    resources.Store.try_load_from_disk = load
    resources.Store.dump_to_disk = dump


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--state", required=True, help="localstripe's state file for this run")
    args = parser.parse_args()

    use_state_file(args.state)
    app = server.app
    app.middlewares.append(stripe_like)
    app.router.add_routes(ROUTES)
    # Our routes must win over localstripe's catch-alls: aiohttp matches in registration order,
    # and localstripe registers no /v1/prices, /v1/checkout or /v1/billing_portal routes.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    web.run_app(app, sock=sock, access_log=None, print=None, handle_signals=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
