"""Journey 8, billing: the console's billing page in a real browser.

The owner of a tenant on the free plan opens Billing from the console's sidebar, sees the plan
and usage against every limit (bars for counts, values for sizes), chooses Pro, pays on the
Stripe-shape server's stand-in Checkout page (tests/billing/fake_stripe.py: it subscribes the
customer and sends the signed `checkout.session.completed`, `customer.subscription.created` and
`invoice.paid` events to this live server's webhook, as Stripe would) and comes back to the
page, now on Pro with the invoice and its PDF; opens the portal's stand-in and returns; reads the
credits ledger. A viewer sees the page without any buying control, and a forged POST from them
is refused. Screenshots, axe and the 375 px check on the way."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from django_tenants.utils import schema_context

from apps.deploy.models import App, Formation
from apps.tenants.models import Role
from apps.tenants.services import tenant_create
from tests.billing.conftest import stripe_api  # noqa: F401 (the fake Stripe, a fixture)
from tests.billing.factories import plan_synced
from tests.billing.helpers import STRIPE_ENV

pytestmark = pytest.mark.browser

SIZES = ("memory_mb", "cpu_millicores", "pids", "disk_mb")


@pytest.fixture
def stripe_stand_in(settings, stripe_api, server):  # noqa: F811
    """The app talks to the fake Stripe; its stand-in pages deliver to this live server."""
    for name, value in STRIPE_ENV.items():
        setattr(settings, name, int(value) if value.isdigit() else value)
    from config.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True  # the webhook's processing runs in the server thread
    config = {
        "webhook_url": f"{server.url}/webhooks/stripe/",
        "secret": STRIPE_ENV["STRIPE_WEBHOOK_SECRET"],
        "api_version": settings.STRIPE_API_VERSION,
    }
    httpx.post(f"{stripe_api}/_config/shape/stand_in", json=config).raise_for_status()
    yield stripe_api
    httpx.post(f"{stripe_api}/_config/shape/stand_in", json={})
    app.conf.task_always_eager = eager


@pytest.fixture
def shop(transactional_db, stripe_stand_in, person):
    """A tenant on the free plan with apps and processes, its owner and a viewer, and three
    plans synced to the fake Stripe."""
    owner = person(role=Role.OWNER)
    # Schemas outlive the truncation at teardown: a slug of its own each time.
    tenant = tenant_create(name="Harbour Co", slug=f"harbour-{uuid.uuid4().hex[:6]}", owner=owner)
    viewer = person(tenant=tenant, role=Role.VIEWER)
    plan_synced(name="Starter", slug="starter", monthly_price_cents=900, sort_order=1,
                user_limit=3, max_apps=2, max_processes=4, max_monitors=10,
                max_custom_domains=1, api_rate_limit_per_min=120)  # fmt: skip
    plan_synced(sort_order=2)  # Pro
    with schema_context(tenant.schema_name):
        web = App.objects.create(name="web")
        App.objects.create(name="api")
        Formation.objects.create(app=web, process_type="web", count=2)
    return {"tenant": tenant, "owner": owner, "viewer": viewer}


def _fetch(page, path: str, form: dict | None = None) -> dict:
    """A request from the page itself (its cookies, its origin; a POST with the CSRF token)."""
    return page.evaluate(
        """async ([path, form]) => {
            const init = {credentials: 'same-origin', redirect: 'manual'};
            if (form) {
                const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
                init.method = 'POST';
                init.body = new URLSearchParams({...form, csrfmiddlewaretoken: token});
            }
            const r = await fetch(path, init);
            const head = new TextDecoder().decode((await r.arrayBuffer()).slice(0, 4));
            return {status: r.status, type: r.headers.get('content-type'), head};
        }""",
        [path, form],
    )


def _usage_shows_every_limit(page) -> None:
    usage = page.locator("#billing-usage")
    for name in ("users", "apps", "processes", "monitors", "custom_domains"):
        assert usage.locator(f"[data-limit={name}] [role=progressbar]").is_visible(), name
    for name in SIZES:  # sizes are values, not bars
        row = usage.locator(f"[data-limit={name}]")
        assert row.is_visible() and row.locator("[role=progressbar]").count() == 0, name
    assert usage.locator("[data-limit=apps] strong").inner_text().startswith("2 ")  # 2 apps


def test_the_owner_changes_plan_through_checkout_and_reads_invoices_and_credits(
    page, mobile_page, shop, login, console_url, shoot, axe_check, no_horizontal_scroll
):
    started = time.monotonic()
    tenant = shop["tenant"]
    login(page, shop["owner"], tenant)
    page.get_by_role("link", name="Plan, usage and invoices").first.click()  # the sidebar
    page.wait_for_url(console_url(tenant, "/console/billing/"))
    plan = page.locator("#billing-plan")
    assert "Free" in plan.inner_text()
    _usage_shows_every_limit(page)
    shoot(page, "journey8-1-billing-free")
    axe_check(page)

    pro = page.locator("#billing-plans [data-plan=pro]")
    pro.get_by_role("button", name="Choose monthly").click()
    page.wait_for_url("**/_config/shape/pages/checkout/**")  # Stripe's page (the stand-in)
    assert "USD 29.00" in page.inner_text("main")
    shoot(page, "journey8-2-checkout")
    page.get_by_role("button", name="Pay").click()

    page.wait_for_url(console_url(tenant, "/console/billing/?checkout=success"))
    assert "Pro" in plan.inner_text() and "active" in plan.inner_text().lower()
    assert "Renews on" in plan.inner_text()
    invoice = page.locator("#billing-invoices tbody tr").first
    assert "USD 29.00" in invoice.inner_text()
    pdf = invoice.get_by_role("link", name="PDF")
    answer = _fetch(page, pdf.get_attribute("href"))  # in the page: Chromium resolves the host
    assert answer["status"] == 200 and answer["type"] == "application/pdf"
    assert answer["head"] == "%PDF"
    assert page.locator("#billing-credits tbody tr").count() >= 1  # the free plan's grant
    shoot(page, "journey8-3-billing-pro")
    axe_check(page)

    page.get_by_role("button", name="Manage billing").click()
    page.wait_for_url("**/_config/shape/pages/portal/**")
    page.locator("#portal-return").click()
    page.wait_for_url(console_url(tenant, "/console/billing/"))

    mobile_page.context.add_cookies(page.context.cookies())
    mobile_page.goto(console_url(tenant, "/console/billing/"))
    assert mobile_page.get_by_role("button", name="Manage billing").is_visible()
    no_horizontal_scroll(mobile_page)
    axe_check(mobile_page)
    shoot(mobile_page, "journey8-4-billing-375")
    assert time.monotonic() - started < 30


def test_a_viewer_sees_no_buying_controls_and_a_forged_post_is_refused(
    page, shop, login, console_url, shoot
):
    tenant = shop["tenant"]
    login(page, shop["viewer"], tenant)
    page.goto(console_url(tenant, "/console/billing/"))
    assert "Free" in page.inner_text("#billing-plan")
    _usage_shows_every_limit(page)
    assert page.locator("#billing-plans form").count() == 0
    assert page.get_by_role("button", name="Manage billing").count() == 0
    assert page.locator("#billing-invoices").count() == 0  # invoices are for owners and admins
    assert "Only the owner can change the plan." in page.inner_text("#billing-plan")
    shoot(page, "journey8-5-billing-viewer")

    # A forged form post with the viewer's session and a valid CSRF token: refused.
    for path, form in (
        ("/console/billing/checkout/", {"plan": "pro", "interval": "month"}),
        ("/console/billing/portal/", {}),
    ):
        answer = _fetch(page, path, form=form)
        assert answer["status"] == 403, (path, answer)
