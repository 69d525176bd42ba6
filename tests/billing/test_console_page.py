"""The console's billing page (/console/billing/ on the tenant's host): plan, usage, checkout,
portal, invoices; by role, as the billing API allows; Stripe is the fake Stripe on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.billing import selectors, services
from apps.billing.models import CheckoutSession, Invoice, InvoiceStatus, SubscriptionStatus
from apps.billing.services.checkout import _return_url
from apps.deploy.models import App, AppDomain, Formation
from apps.tenants.models import Membership, Role, TenantStatus

from .factories import plan_synced, subscription_start

pytestmark = pytest.mark.django_db

HOST = "alpha.localhost"
PAGE = "/console/billing/"
CHECKOUT = "/console/billing/checkout/"
PORTAL = "/console/billing/portal/"


@pytest.fixture
def people(world, django_user_model) -> dict:
    """alpha's owner (alice) and one person per other role; bravo's owner; an outsider."""
    made = {"owner": world["alice"], "outsider": world["outsider"], "bob": world["bob"]}
    for role in (Role.ADMIN, Role.MEMBER, Role.VIEWER):
        email = f"{role}-billing@example.com"
        user = django_user_model.objects.create_user(username=email, email=email, password="x")
        Membership.objects.create(tenant=world["tenant_a"], user=user, role=role)
        made[role] = user
    return made


def as_(client, user):
    client.force_login(user)
    return client


def get(client, user, path=PAGE, **extra):
    return as_(client, user).get(path, HTTP_HOST=HOST, **extra)


def post(client, user, path, data=None):
    return as_(client, user).post(path, data or {}, HTTP_HOST=HOST)


@pytest.fixture
def paid(world, sdk, webhook):
    """alpha pays Pro monthly at the fake Stripe; invoice.paid delivered and processed."""
    plan = plan_synced()
    account = services.billing_account_ensure(tenant=world["tenant_a"])
    subscription = subscription_start(sdk, account, plan)
    webhook("customer.subscription.created", subscription)
    stripe_invoice = sdk.v1.invoices.list(params={"customer": subscription["customer"]}).data[0]
    webhook("invoice.paid", stripe_invoice.to_dict())
    return Invoice.objects.get(account=account, number__isnull=False)


# --- Who sees what -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "admin", "member", "viewer"])
def test_every_member_sees_plan_and_usage_bars(client, people, who):
    response = get(client, people[who])
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="billing-plan"' in page and "Free" in page
    # One bar per counted limit (the rate has none), from the apps that count them.
    bars = re.findall(r'role="progressbar" aria-label="([^"]+)"', page)
    assert bars == [
        "Members and invitations",
        "Apps",
        "Processes",
        "Monitors",
        "Webhook endpoints",
        "Custom domains",
    ]
    assert "API requests per minute" in page
    # Invoices as in the API: owners and admins.
    assert ('id="billing-invoices"' in page or "No invoices yet" in page) == (
        who in ("owner", "admin")
    )


def test_only_the_owner_is_offered_checkout_unless_admins_may_buy(client, people, world):
    plan_synced()
    owner_page = get(client, people["owner"]).content.decode()
    assert 'action="/console/billing/checkout/"' in owner_page
    for who in ("admin", "member", "viewer"):
        page = get(client, people[who]).content.decode()
        assert 'action="/console/billing/checkout/"' not in page, who
        assert "Only the owner can change the plan." in page
    account = services.billing_account_ensure(tenant=world["tenant_a"])
    account.admins_can_buy = True
    account.save()
    assert 'action="/console/billing/checkout/"' in get(client, people["admin"]).content.decode()


def test_outsiders_get_404_and_anonymous_visitors_sign_in(client, people):
    assert get(client, people["outsider"]).status_code == 404
    assert get(client, people["bob"]).status_code == 404
    client.logout()
    response = client.get(PAGE, HTTP_HOST=HOST)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_the_console_sidebar_and_front_page_link_to_billing(client, people):
    page = get(client, people["viewer"], "/console/").content.decode()
    assert page.count('href="/console/billing/"') >= 2  # sidebar and front page
    assert "Plan, usage and invoices" in page


def test_usage_counts_what_the_tenant_has(client, people, world):
    with schema_context(world["tenant_a"].schema_name):
        apps = [App.objects.create(name=f"web-{i}") for i in range(3)]
        Formation.objects.create(app=apps[0], process_type="web", count=2)
        Formation.objects.create(app=apps[1], process_type="worker", count=1)
        AppDomain.objects.create(app=apps[0], hostname="www.alpha.example", verification_token="t")
    services.billing_account_ensure(tenant=world["tenant_a"])  # Free's limits onto the tenant
    world["tenant_a"].refresh_from_db()
    world["tenant_a"].entitlement_overrides = {"apps": 3, "processes": 4, "custom_domains": 2}
    world["tenant_a"].save()
    usage = {row.name: row for row in selectors.limits_usage(tenant=world["tenant_a"])}
    assert (usage["apps"].used, usage["apps"].limit) == (3, 3)
    assert (usage["processes"].used, usage["processes"].limit) == (3, 4)
    assert (usage["custom_domains"].used, usage["custom_domains"].limit) == (1, 2)
    assert (usage["webhook_endpoints"].used, usage["webhook_endpoints"].limit) == (0, None)
    assert usage["users"].used == 4  # owner, admin, member, viewer
    assert usage["api_requests_per_min"].used is None
    page = get(client, people["owner"]).content.decode()
    assert 'aria-valuetext="3 of 3"' in page and "At the limit" in page
    assert 'aria-valuetext="3 of 4"' in page and "bg-orange-500" in page
    assert 'aria-valuetext="1 of 2"' in page
    assert 'aria-valuetext="0, unlimited"' in page


def test_past_due_and_cancel_at_period_end_are_shown(client, people, world):
    account = services.billing_account_ensure(tenant=world["tenant_a"])
    account.status = SubscriptionStatus.PAST_DUE
    account.past_due_since = timezone.now()
    account.save()
    page = get(client, people["viewer"]).content.decode()
    assert 'id="billing-past-due"' in page and "Past due" in page
    account.status = SubscriptionStatus.ACTIVE
    account.cancel_at_period_end = True
    account.current_period_end = timezone.now() + dt.timedelta(days=9)
    account.save()
    page = get(client, people["viewer"]).content.decode()
    assert 'id="billing-canceling"' in page and "Cancels at period end" in page
    assert "Ends on" in page and account.current_period_end.strftime("%Y-%m-%d") in page


# --- Checkout and the portal -------------------------------------------------------------------


def test_checkout_posts_and_redirects_to_stripe(client, people, world, sdk, settings):
    settings.ROOT_URL = "http://localhost:8000"
    settings.BILLING_RETURN_URL = ""
    plan = plan_synced()
    response = post(client, people["owner"], CHECKOUT, {"plan": "pro", "interval": "year"})
    assert response.status_code == 303
    assert response["Location"].startswith("https://checkout.stripe.com/c/pay/cs_")
    checkout = CheckoutSession.objects.get(account__tenant=world["tenant_a"])
    assert checkout.plan == plan and checkout.interval == "year"
    assert response["Location"] == checkout.url
    session = sdk.v1.checkout.sessions.retrieve(checkout.stripe_session_id)
    # Back to this page, on the scheme and port the site is served on.
    assert session.success_url == "http://alpha.localhost:8000/console/billing/?checkout=success"
    assert session.cancel_url == "http://alpha.localhost:8000/console/billing/?checkout=canceled"
    back = get(client, people["owner"], PAGE + "?checkout=success").content.decode()
    assert "as soon as Stripe confirms the payment" in back


@pytest.mark.parametrize("who", ["admin", "member", "viewer"])
def test_others_may_not_start_checkout_or_open_the_portal(client, people, who):
    plan_synced()
    assert post(client, people[who], CHECKOUT, {"plan": "pro"}).status_code == 403
    assert post(client, people[who], PORTAL).status_code == 403
    assert not CheckoutSession.objects.exists()


def test_admins_may_buy_when_the_owner_allows_it(client, people, world):
    plan_synced()
    account = services.billing_account_ensure(tenant=world["tenant_a"])
    account.admins_can_buy = True
    account.save()
    response = post(client, people["admin"], CHECKOUT, {"plan": "pro"})
    assert response.status_code == 303 and "checkout.stripe.com" in response["Location"]


def test_a_free_plan_is_activated_without_stripe(client, people, world):
    response = post(client, people["owner"], CHECKOUT, {"plan": "free"})
    assert response.status_code == 302 and response["Location"] == PAGE
    assert not CheckoutSession.objects.exists()
    assert "You are now on Free." in client.get(PAGE, HTTP_HOST=HOST).content.decode()


def test_refusals_are_told_on_the_page(client, people):
    response = post(client, people["owner"], CHECKOUT, {"plan": "nope"})
    assert response.status_code == 404
    response = post(client, people["owner"], PORTAL)  # never paid: no portal yet (409)
    assert response.status_code == 302 and response["Location"] == PAGE
    page = client.get(PAGE, HTTP_HOST=HOST).content.decode()
    assert "never paid through Stripe" in page


def test_manage_billing_opens_the_stripe_portal(client, people, paid):
    page = get(client, people["owner"]).content.decode()
    assert 'action="/console/billing/portal/"' in page
    response = post(client, people["owner"], PORTAL)
    assert response.status_code == 303
    assert response["Location"].startswith("https://billing.stripe.com/p/session/")


def test_a_suspended_tenant_can_still_pay(client, people, world):
    plan_synced()
    world["tenant_a"].status = TenantStatus.SUSPENDED
    world["tenant_a"].save()
    page = get(client, people["owner"])
    assert page.status_code == 200
    response = post(client, people["owner"], CHECKOUT, {"plan": "pro"})
    assert response.status_code == 303


# --- Invoices ----------------------------------------------------------------------------------


def test_invoices_are_listed_with_their_pdf(client, people, paid):
    page = get(client, people["owner"]).content.decode()
    assert f'data-invoice="{paid.number}"' in page and "USD 29.00" in page
    pdf_url = f"/console/billing/invoices/{paid.pk}/pdf/"
    assert f'href="{pdf_url}"' in page
    response = get(client, people["admin"], pdf_url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    for who in ("member", "viewer"):
        assert get(client, people[who], pdf_url).status_code == 403, who
        assert paid.number not in get(client, people[who]).content.decode()


def test_another_tenants_invoice_pdf_is_404(client, people, paid, world):
    bravo = services.billing_account_ensure(tenant=world["tenant_b"])
    other = Invoice.objects.create(
        account=bravo, number="INV-999999", status=InvoiceStatus.PAID, issued_at=timezone.now()
    )
    assert (
        get(client, people["owner"], f"/console/billing/invoices/{other.pk}/pdf/").status_code
        == 404
    )
    # bravo's owner on bravo's host gets it; on alpha's host, alpha's invoice is not his.
    client.force_login(people["bob"])
    ok = client.get(f"/console/billing/invoices/{other.pk}/pdf/", HTTP_HOST="bravo.localhost")
    assert ok.status_code == 200
    theirs = client.get(f"/console/billing/invoices/{paid.pk}/pdf/", HTTP_HOST="bravo.localhost")
    assert theirs.status_code == 404


def test_the_page_costs_the_same_queries_however_many_invoices(client, people, world):
    account = services.billing_account_ensure(tenant=world["tenant_a"])

    def invoices(count: int) -> None:
        start = Invoice.objects.filter(account=account).count()
        for i in range(start, start + count):
            Invoice.objects.create(
                account=account,
                number=f"INV-{900000 + i}",
                status=InvoiceStatus.PAID,
                total_cents=2900,
                currency="usd",
                issued_at=timezone.now() - dt.timedelta(days=i),
            )

    def queries() -> int:
        as_(client, people["owner"])
        with CaptureQueriesContext(connection) as captured:
            assert client.get(PAGE, HTTP_HOST=HOST).status_code == 200
        return len(captured)

    invoices(1)
    one = queries()
    invoices(40)  # past the page's 24: the rest are counted, not listed
    many = queries()
    assert many == one, (one, many)
    page = client.get(PAGE, HTTP_HOST=HOST).content.decode()
    assert page.count("data-invoice=") == selectors.CONSOLE_INVOICES
    assert "And 17 older" in page


def test_the_credits_ledger_is_listed_in_constant_queries(client, people, world):
    """Every member reads the newest ledger entries (as the API's credit entries); the page
    costs the same queries with 2 entries or 60, and lists only the newest CREDIT_ROWS."""
    from apps.billing.console import CREDIT_ROWS
    from apps.billing.models import CreditEntry

    account = services.billing_account_ensure(tenant=world["tenant_a"])

    def entries(count: int) -> None:
        balance = selectors.credit_balances(account)["total"]
        for i in range(count):
            balance -= 1
            CreditEntry.objects.create(
                account=account, kind="usage", bucket="subscription", amount=-1,
                balance_after=balance, description=f"Build minutes {i}",
            )  # fmt: skip

    def queries() -> int:
        as_(client, people["viewer"])
        with CaptureQueriesContext(connection) as captured:
            assert client.get(PAGE, HTTP_HOST=HOST).status_code == 200
        return len(captured)

    entries(1)
    few = queries()
    entries(60)
    many = queries()
    assert many == few, (few, many)
    page = get(client, people["viewer"]).content.decode()
    assert page.count("data-credit-kind=") == CREDIT_ROWS
    assert "Build minutes 59" in page and "Build minutes 0<" not in page


# --- The return address ------------------------------------------------------------------------


def test_the_return_url_follows_the_scheme_the_site_is_served_on(settings, world):
    tenant = world["tenant_a"]
    settings.BILLING_RETURN_URL = ""
    settings.ROOT_URL = "http://localhost:8000"
    assert _return_url(tenant) == "http://alpha.localhost:8000/console/billing/"
    settings.ROOT_URL = "https://localhost"
    assert _return_url(tenant) == "https://alpha.localhost/console/billing/"
    settings.BILLING_RETURN_URL = "https://pay.example.com/back/{host}"
    assert _return_url(tenant) == "https://pay.example.com/back/alpha.localhost"
