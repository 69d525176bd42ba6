"""Journey 1: `/` → sign up → the new workspace's console, with a "deploy your first app" path.

A newcomer opens the root host, follows the sign-in page's sign-up link, signs up, confirms the
address from the mail (the test reads the mail the server sent), lands on their account page
with their new workspace, opens its console (signed in on the workspace's own host by a
one-time token: sessions are per host) and finds the three steps to a first app, the first one
a link."""

from __future__ import annotations

import re
import time
import uuid

import pytest
from django.core import mail

from apps.tenants.models import Membership, Role

pytestmark = pytest.mark.browser

PASSWORD = "a-long-browser-password-1"


def _confirmation_link(address: str) -> str:
    for message in reversed(mail.outbox):
        if address in message.to:
            found = re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body)
            if found:
                return found.group(0)
    raise AssertionError(f"no confirmation mail to {address}: {[m.subject for m in mail.outbox]}")


def test_a_newcomer_signs_up_and_finds_the_first_app_path(
    page, mobile_page, root_url, console_url, shoot, axe_check, no_horizontal_scroll, server
):
    started = time.monotonic()
    email = f"newcomer-{uuid.uuid4().hex[:6]}@journey.example"  # schemas outlive the truncation

    page.goto(root_url("/"))
    page.wait_for_url("**/accounts/login/**")
    shoot(page, "journey1-1-sign-in")
    page.get_by_role("link", name=re.compile("sign up", re.I)).first.click()
    page.wait_for_url("**/accounts/signup/**")
    axe_check(page)
    page.fill("input[name=email]", email)
    page.fill("input[name=first_name]", "Nia")
    page.fill("input[name=password1]", PASSWORD)
    shoot(page, "journey1-2-sign-up")
    page.locator("form [type=submit]").last.click()
    page.wait_for_url("**/accounts/confirm-email/**")

    # The workspace exists as soon as the account does; the address still needs confirming.
    membership = Membership.objects.select_related("tenant").get(user__email=email)
    tenant = membership.tenant
    assert membership.role == Role.OWNER and tenant.name == "Nia's workspace"

    link = _confirmation_link(email).replace("http://localhost/", root_url("/"))
    page.goto(link)
    page.locator("form [type=submit]").first.click()  # "Confirm"
    page.wait_for_url("**/accounts/")
    row = page.get_by_role("row", name=re.compile(tenant.name))
    open_console = row.get_by_role("link", name=re.compile("open", re.I))
    assert open_console.get_attribute("href") == f"/accounts/open/{tenant.slug}/"
    shoot(page, "journey1-3-account")
    axe_check(page)
    open_console.click()

    # Sessions are per host; a one-time token signs them in on the workspace's own host, once
    # they confirm whose account it is.
    page.wait_for_url("**/accounts/handoff/**")
    assert email in page.inner_text("body")
    axe_check(page)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(console_url(tenant, "/console/"))

    card = page.locator("#first-app")
    assert card.is_visible()
    steps = card.locator("ol > li")
    assert steps.count() == 3
    assert "Create an app from a git URL" in steps.nth(0).inner_text()
    assert "Deploy" in steps.nth(1).inner_text() and "See it live" in steps.nth(2).inner_text()
    start = page.locator("#first-app-start")
    assert start.is_visible()
    assert start.get_attribute("href") in ("/console/deploy/app/add/", "/api/docs/")
    shoot(page, "journey1-4-console")
    axe_check(page)

    # The same on a phone: the first step's link in view, nothing sideways.
    mobile_page.context.add_cookies(page.context.cookies())
    mobile_page.goto(console_url(tenant, "/console/"))
    assert mobile_page.locator("#first-app-start").is_visible()
    no_horizontal_scroll(mobile_page)
    axe_check(mobile_page)
    shoot(mobile_page, "journey1-5-console-375")
    assert time.monotonic() - started < 30
