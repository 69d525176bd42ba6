"""`quay login` in the browser, on a phone: the device code the CLI would show is typed into the
approval page at 375 px, approved, and the CLI's next poll gets its token.

The CLI side is its two HTTP calls (device code, token), made here with httpx: tests/cli runs the
real CLI through the same flow. The page: the signed-in person, the code shown large, a warning
to approve only one's own code, Approve/Deny; axe and no sideways scroll on each page."""

from __future__ import annotations

import time

import httpx

from apps.accounts.device_login import cli_client_ensure


def test_approving_a_cli_login_on_a_phone(
    mobile_page, person, login, root_url, shoot, axe_check, no_horizontal_scroll
):
    started = time.monotonic()
    cli_client_ensure()  # the migration's row; earlier tests truncated it
    user = person()
    device = httpx.post(
        root_url("/identity/o/api/device/code"), data={"client_id": "quay-cli", "scope": "api"}
    ).json()
    assert device["verification_uri"] == root_url("/identity/o/device")

    page = mobile_page
    login(page, user)
    page.goto(device["verification_uri"])
    assert page.locator("h1").inner_text() == "Sign in the quay CLI"
    no_horizontal_scroll(page)
    axe_check(page)
    page.fill("input[name=code]", device["user_code"])
    page.locator("form [type=submit]").first.click()

    page.wait_for_url("**/identity/o/device?code=*")
    assert page.locator("h1").inner_text() == "Approve the quay CLI?"
    assert page.locator(".qs-device-code").inner_text() == device["user_code"]
    assert user.email in page.locator(".qs-card").inner_text()
    approve = page.get_by_role("button", name="Approve")
    assert approve.is_visible()
    no_horizontal_scroll(page)
    axe_check(page)
    shoot(page, "cli-login-approve-375")
    approve.click()
    page.wait_for_selector("text=The quay CLI is signed in")

    token = httpx.post(
        root_url("/identity/o/api/token"),
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": device["device_code"],
            "client_id": "quay-cli",
        },
    )
    assert token.status_code == 200, token.text
    assert token.json()["access_token"] and token.json()["refresh_token"]
    assert time.monotonic() - started < 15
