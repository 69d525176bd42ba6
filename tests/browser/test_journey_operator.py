"""Journey 10, the operator: the operator console's dashboard in a real browser.

An operator signs in on the root host and finds, above the counters, charts over the last 30
days (90 on request) of sign-ups, MRR, deployments per day, checks per minute and failed
webhook deliveries, each naming its source (the daily aggregates). The aggregates are collected
here by the real collectors from real rows (sign-ups spread over the month, deployments in a
tenant's schema) with the backfill service, as `manage.py daily_metrics_backfill` would. Then the
operator opens a tenant's page, which links everything of it, and follows one link to the
tenant's apps. axe on both pages, a screenshot of each, and the dashboard at 375 px. The charts
are drawn by the vendored uPlot (a canvas with the series on it, redrawn when the window
narrows)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.billing.models import BillingAccount
from apps.billing.services import billing_account_ensure
from apps.core.daily_metrics import daily_metrics_backfill
from apps.deploy.models import Deployment
from apps.monitoring.models import UptimeRollup
from apps.tenants.services import tenant_create
from tests.browser.charts import chart_drawn
from tests.browser.conftest import PASSWORD
from tests.deploy.factories import deployed_app
from tests.monitoring.factories import create as monitor_create

pytestmark = pytest.mark.browser


@pytest.fixture
def platform(person, django_user_model):
    """An operator, a tenant with an app, sign-ups and deployments over the last month, and
    the daily aggregates collected from them."""
    operator = person(email=f"operator-{uuid.uuid4().hex[:6]}@ops.example")
    django_user_model.objects.filter(pk=operator.pk).update(is_staff=True, is_superuser=True)
    owner = person(email=f"owner-{uuid.uuid4().hex[:6]}@ops.example")
    tenant = tenant_create(name="Dock Co", slug=f"dock{uuid.uuid4().hex[:6]}", owner=owner)
    account = billing_account_ensure(tenant=tenant)  # what its first billing page visit makes
    # A paying customer for 20 days, as the subscription webhooks leave the account.
    BillingAccount.objects.filter(pk=account.pk).update(
        stripe_subscription_id=f"sub_{tenant.slug}", subscription_amount_cents=2900,
        interval="month", subscription_currency="usd", status="active",
        subscription_started_at=timezone.now() - dt.timedelta(days=20),
    )  # fmt: skip
    now = timezone.now()
    for days_ago in (1, 3, 3, 8, 12, 12, 12, 20, 27):
        user = person()
        django_user_model.objects.filter(pk=user.pk).update(
            date_joined=now - dt.timedelta(days=days_ago)
        )
    objs = deployed_app(tenant, owner, name="harbour")
    with tenant_context(tenant):
        for days_ago in (2, 2, 5, 9, 9, 9, 15):
            done = Deployment.objects.create(
                app=objs["app"], kind="deploy", state="failed", ref="main", formation={"web": 1}
            )
            Deployment.objects.filter(pk=done.pk).update(
                created_at=now - dt.timedelta(days=days_ago)
            )
    # Checks: a monitor's hourly rollups over the last week (what each check result adds to).
    monitor = monitor_create(tenant, kind="http", name="site", url="http://127.0.0.1:9/")
    with tenant_context(tenant):
        hour = now.replace(minute=0, second=0, microsecond=0)
        UptimeRollup.objects.bulk_create(
            UptimeRollup(monitor=monitor, hour=hour - dt.timedelta(hours=h), checks=60 + h % 7)
            for h in range(1, 24 * 7)
        )
    daily_metrics_backfill(days=30)
    return {"operator": operator, "tenant": tenant, "app": objs["app"]}


def _operator_login(page, root_url, user) -> None:
    page.goto(root_url("/admin/"))
    page.wait_for_url("**/accounts/login/**")  # the admin signs in through allauth (MFA)
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form [type=submit]").first.click()
    page.wait_for_selector("#daily-charts")


def test_journey10_operator_dashboard_charts_and_tenant_page(
    page, mobile_page, root_url, shoot, axe_check, no_horizontal_scroll, platform
):
    _operator_login(page, root_url, platform["operator"])
    charts = page.locator("#daily-charts figure.qs-daily-chart")
    names = {charts.nth(i).get_attribute("data-series") for i in range(charts.count())}
    assert names == {"signups", "mrr", "deployments", "checks_per_minute", "failed_deliveries"}
    signups = page.locator('figure[data-series="signups"]')
    assert signups.get_attribute("data-points") == "30"
    # Each drawn by uPlot (static/console/charts.js): bars for counts, lines for levels.
    for name in ("signups", "deployments", "mrr", "checks_per_minute"):
        chart_drawn(page, f'figure[data-series="{name}"]')
    assert "latest 29" in page.locator('figure[data-series="mrr"]').inner_text()
    assert "Source: daily aggregates" in signups.inner_text()
    # Redrawn at its box's width when the window changes (700 px: one column, wider).
    before = chart_drawn(page, 'figure[data-series="signups"]')["width"]
    page.set_viewport_size({"width": 700, "height": 900})
    page.wait_for_function(
        "w => document.querySelector('figure[data-series=signups] canvas')"
        ".getBoundingClientRect().width != w",
        arg=before,
    )
    chart_drawn(page, 'figure[data-series="signups"]')
    page.set_viewport_size({"width": 1280, "height": 900})
    assert page.locator("#apps-total, #checks-minute").count() >= 1  # the counters stay
    axe_check(page)
    shoot(page, "journey10-1-operator-dashboard")
    page.get_by_role("link", name="90 days").click()
    page.wait_for_selector('#daily-charts [aria-current="page"]:has-text("90 days")')
    assert signups.get_attribute("data-points") == "30"  # 30 of the 90 days were collected

    tenant = platform["tenant"]
    page.goto(root_url(f"/admin/tenants/tenant/{tenant.pk}/change/"))
    links = page.locator("#tenant-links")
    for label in ("Apps", "Deployments", "Monitors", "Invoices", "Audit events", "Members"):
        assert links.locator(f'[data-link="{label}"]').count() == 1, label
    axe_check(page)
    shoot(page, "journey10-2-tenant-page")
    links.locator('[data-link="Apps"]').click()
    page.wait_for_selector(f"text={platform['app'].name}")

    _operator_login(mobile_page, root_url, platform["operator"])
    no_horizontal_scroll(mobile_page)
    chart = mobile_page.locator('figure[data-series="mrr"]').first
    chart.scroll_into_view_if_needed()
    assert chart.is_visible()
    assert 200 < chart_drawn(mobile_page, 'figure[data-series="mrr"]')["width"] < 375
    shoot(mobile_page, "journey10-3-operator-dashboard-375")
