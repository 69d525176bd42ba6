"""The console's billing page in a real browser: Debian's Chromium, driven by Selenium through
chromedriver, against a live server (pytest-django's, in a thread) reached at the tenant's own
host `<slug>.localhost`, which Chromium resolves to 127.0.0.1 by itself.

The owner signs in through the sign-in form, opens /console/billing/ at 375 px (a phone) and at
desktop width, and finds the plan, the usage bars and the invoice rows on screen, with nothing
wider than the phone's screen. Screenshots go to the test's tmp dir; with
QS_DOCS_SCREENSHOT=1 the desktop one also replaces docs/img/console-billing.png.

The data is committed (the server thread has its own connection): `transactional_db`, whose
teardown truncates every table, so billing's conftest runs this after the other tests."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

import pytest
from django_tenants.utils import schema_context

from apps.billing import services
from apps.deploy.models import App, Formation
from apps.tenants.models import Membership, Role
from apps.tenants.services import tenant_create

from .factories import plan_synced, subscription_start

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
INSTALL = (
    "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; "
    "`make test` installs them when run as root) and selenium (requirements/local.txt)"
)

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # pragma: no cover - requirements/local.txt has it
    webdriver = None

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(webdriver is None or not (CHROMIUM and CHROMEDRIVER), reason=INSTALL),
]

PASSWORD = "quayside-browser-pw"
PHONE = (375, 812)
DESKTOP = (1280, 900)


@pytest.fixture
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in containers
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--hide-scrollbars",
        f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
    ):
        options.add_argument(argument)
    # The Debian driver by path: Selenium Manager never downloads a browser or a driver.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(15)
    yield driver
    driver.quit()


@pytest.fixture
def demo(transactional_db, django_user_model, sdk, webhook) -> dict:
    """A tenant on Pro (paid monthly at the fake Stripe, one invoice), with some usage, and its
    owner with a verified email (sign-in requires one outside local mode)."""
    from allauth.account.models import EmailAddress

    tag = uuid.uuid4().hex[:6]
    email = f"owner-{tag}@demo.example"
    owner = django_user_model.objects.create_user(username=email, email=email, password=PASSWORD)
    EmailAddress.objects.create(user=owner, email=email, verified=True, primary=True)
    tenant = tenant_create(name="Demo", slug=f"demo{tag}", owner=owner)
    for role in (Role.ADMIN, Role.MEMBER):
        other = f"{role}-{tag}@demo.example"
        user = django_user_model.objects.create_user(username=other, email=other, password="x")
        Membership.objects.create(tenant=tenant, user=user, role=role)

    plan_synced(name="Starter", slug="starter", monthly_price_cents=900, sort_order=1,
                user_limit=3, max_apps=2, max_processes=4, max_monitors=10,
                max_custom_domains=1, api_rate_limit_per_min=120)  # fmt: skip
    pro = plan_synced(sort_order=2)
    plan_synced(name="Scale", slug="scale", monthly_price_cents=9900, sort_order=3,
                user_limit=None, max_apps=None, max_processes=200, max_monitors=500,
                max_custom_domains=100, api_rate_limit_per_min=6000)  # fmt: skip
    account = services.billing_account_ensure(tenant=tenant)
    subscription = subscription_start(sdk, account, pro)
    webhook("customer.subscription.created", subscription)
    stripe_invoice = sdk.v1.invoices.list(params={"customer": subscription["customer"]}).data[0]
    webhook("invoice.paid", stripe_invoice.to_dict())

    with schema_context(tenant.schema_name):
        apps = [App.objects.create(name=name) for name in ("web", "api", "docs", "jobs")]
        Formation.objects.create(app=apps[0], process_type="web", count=3)
        Formation.objects.create(app=apps[1], process_type="web", count=2)
        Formation.objects.create(app=apps[3], process_type="worker", count=4)
    return {"tenant": tenant, "email": email}


def _full_page_screenshot(driver, path: Path, width: int) -> None:
    """The whole page, not just the viewport: the viewport is stretched to the page's height."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    time.sleep(0.2)  # one frame at the new size
    driver.save_screenshot(str(path))


def _viewport(driver, width: int, height: int) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def _assert_page_shows_billing(driver, width: int) -> None:
    wait = WebDriverWait(driver, 10)
    plan = wait.until(expected_conditions.visibility_of_element_located((By.ID, "billing-plan")))
    assert "Pro" in plan.text and "Active" in plan.text.title()
    assert "Renews on" in plan.text
    bars = driver.find_elements(By.CSS_SELECTOR, "#billing-usage [role=progressbar]")
    assert len(bars) == 6 and all(bar.is_displayed() for bar in bars)
    filled = driver.find_element(By.CSS_SELECTOR, "[data-limit=processes] .qs-bar-fill")
    assert filled.size["width"] > 0  # 9 of 30 processes: a visible part of the bar
    rows = driver.find_elements(By.CSS_SELECTOR, "#billing-invoices tbody tr")
    assert len(rows) == 1 and rows[0].is_displayed()
    assert "INV-" in rows[0].text and "USD 29.00" in rows[0].text
    link = rows[0].find_element(By.PARTIAL_LINK_TEXT, "PDF")
    assert link.is_displayed() and link.get_attribute("href").endswith("/pdf/")
    checkout_buttons = driver.find_elements(By.CSS_SELECTOR, "#billing-plans button[type=submit]")
    assert not checkout_buttons  # a Stripe subscriber changes plans in the portal
    assert driver.find_element(By.XPATH, "//button[contains(., 'Manage billing')]").is_displayed()
    # Nothing sticks out sideways.
    scroll_width = driver.execute_script("return document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the page is {scroll_width} px wide at {width} px"


def test_the_owner_sees_plan_usage_and_invoices_on_a_phone_and_a_desktop(
    live_server, browser, demo, tmp_path
):
    started = time.monotonic()
    port = live_server.url.rsplit(":", 1)[1]
    base = f"http://{demo['tenant'].slug}.localhost:{port}"

    browser.get(f"{base}/console/billing/")  # not signed in: the sign-in form, then back here
    WebDriverWait(browser, 10).until(expected_conditions.url_contains("/accounts/login/"))
    browser.find_element(By.NAME, "login").send_keys(demo["email"])
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form [type=submit]").click()
    WebDriverWait(browser, 10).until(expected_conditions.url_contains("/console/billing/"))

    _viewport(browser, *PHONE)
    browser.get(f"{base}/console/billing/")
    _assert_page_shows_billing(browser, PHONE[0])
    phone = tmp_path / "console-billing-375.png"
    _full_page_screenshot(browser, phone, PHONE[0])

    _viewport(browser, *DESKTOP)
    browser.get(f"{base}/console/billing/")
    _assert_page_shows_billing(browser, DESKTOP[0])
    desktop = tmp_path / "console-billing-1280.png"
    _full_page_screenshot(browser, desktop, DESKTOP[0])

    assert phone.stat().st_size > 10_000 and desktop.stat().st_size > 10_000
    print(f"screenshots: {phone} {desktop}")
    if os.environ.get("QS_DOCS_SCREENSHOT") == "1":
        shutil.copyfile(desktop, ROOT / "docs" / "img" / "console-billing.png")
        shutil.copyfile(phone, ROOT / "docs" / "img" / "console-billing-phone.png")
    assert time.monotonic() - started < 20
