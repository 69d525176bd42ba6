"""Journey 9 in a real browser: the team pages of the tenant console.

The owner invites someone, changes a member's role, removes a member, revokes an invitation and
transfers ownership to an admin (after a confirmation page); makes an API key, which is shown
once with a copy button and is gone after a reload, and revokes it; adds a webhook endpoint
(its signing secret shown once) pointed at a local HTTP server of this test (loopback allowed
through OUTBOUND_ALLOWED_NETWORKS, as tests/webhooks do), sends a test event and replays a
delivery, both read back from the endpoint's delivery log. A viewer and a member see none of
the controls they cannot use, and their forged POSTs get 403. axe, screenshots and the 375 px
check on the way.

The event replayed is a real one: emitted into the outbox, dispatched and delivered by the
real deliverer (run in a thread of this test, as a worker would)."""

from __future__ import annotations

import time
import uuid
from urllib.parse import urlsplit

import pytest

from apps.tenants.models import Invitation, Membership, Role
from apps.tenants.services import tenant_create
from apps.webhooks import consumer as webhook_consumer
from apps.webhooks import scheduling as webhook_scheduling
from apps.webhooks import services as webhook_services
from tests.threads import run_in_thread
from tests.webhooks.webhook_support import _receiver_server, deliver, emit, receiver  # noqa: F401

pytestmark = pytest.mark.browser

TEAM = "/console/team/members/"
KEYS = "/console/team/api-keys/"
HOOKS = "/console/team/webhooks/"


@pytest.fixture
def crew(person, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    owner = person(email=f"owner-{uuid.uuid4().hex[:6]}@team.example")
    # Schemas outlive the truncation between tests: a slug of its own each time.
    tenant = tenant_create(name="Crew Co", slug=f"crew{uuid.uuid4().hex[:6]}", owner=owner)
    return {
        "tenant": tenant,
        "owner": owner,
        "admin": person(tenant, Role.ADMIN),
        "member": person(tenant, Role.MEMBER),
        "viewer": person(tenant, Role.VIEWER),
    }


def _attempts_shown(page, text: str, timeout_s: float = 15.0):
    """The monitor.down row of the delivery log once it shows `text` (reloading: a delivery
    may still be finishing in a worker when the page is first read)."""
    deadline = time.monotonic() + timeout_s
    while True:
        page.reload()
        row = page.locator('[data-event="monitor.down"]')
        shown = row.locator('[data-role="attempts"]').inner_text()
        if shown == text or time.monotonic() > deadline:
            assert shown == text
            return row
        time.sleep(0.3)


def _forged_post(page, url: str, data: dict) -> int:
    token = page.evaluate("() => document.cookie.match(/csrftoken=([^;]+)/)?.[1] || ''")
    return page.evaluate(
        """async ([url, token, data]) => (await fetch(url, {method: 'POST',
            headers: {'X-CSRFToken': token}, body: new URLSearchParams(data)})).status""",
        [url, token, data],
    )


def _signed_in_as_on(page, other) -> None:
    """`other` (the 375 px page) gets `page`'s session: the same person, one sign-in less."""
    other.context.add_cookies(page.context.cookies())


def _other_page(page):
    return page.context.browser.new_context(viewport={"width": 1280, "height": 900}).new_page()


def test_journey9_team_invite_role_remove_transfer(
    page, mobile_page, login, console_url, shoot, axe_check, no_horizontal_scroll, crew
):
    """Invite, change a role, remove, revoke an invitation, transfer ownership; a viewer."""
    tenant, owner = crew["tenant"], crew["owner"]
    member_row = Membership.objects.get(user=crew["member"]).pk
    viewer_row = Membership.objects.get(user=crew["viewer"]).pk
    admin_row = Membership.objects.get(user=crew["admin"]).pk
    login(page, owner, tenant)
    page.goto(console_url(tenant, TEAM))
    page.fill("#id_email", "newcomer@team.example")
    page.select_option("#id_role", "member")
    page.click("#invite-button")
    page.wait_for_selector("#invitations >> text=newcomer@team.example")
    shoot(page, "journey9-1-team")
    axe_check(page)

    page.select_option(f"#role-{member_row}", "viewer")
    page.get_by_role("button", name=f"Change role of {crew['member'].email}").click()
    page.wait_for_selector(f'#member-{member_row} [data-role="role"] >> text=viewer')

    page.get_by_role("link", name=f"Remove {crew['viewer'].email}").click()
    page.get_by_role("button", name="Remove member").click()
    page.wait_for_url(f"**{TEAM}")
    assert page.locator(f"#member-{viewer_row}").count() == 0

    page.get_by_role("button", name="Revoke the invitation of newcomer@team.example").click()
    page.wait_for_selector("#invitations >> text=No pending invitations")
    assert Invitation.objects.get(email="newcomer@team.example").status == "revoked"

    page.get_by_role("link", name=f"Transfer ownership to {crew['admin'].email}").click()
    shoot(page, "journey9-2-transfer-confirm")
    axe_check(page)
    page.get_by_role("button", name="Transfer ownership").click()
    page.wait_for_selector(f'#member-{admin_row} [data-role="role"] >> text=owner')
    assert Membership.objects.get(user=owner, tenant=tenant).role == Role.ADMIN
    assert page.locator("#invite-form").count() == 1  # an admin now: still invites
    assert page.get_by_role("link", name="Transfer ownership", exact=False).count() == 0

    viewer = _other_page(page)
    login(viewer, crew["member"], tenant)  # a viewer now
    viewer.goto(console_url(tenant, TEAM))
    for control in ("#invite-form", "select", "text=Transfer ownership", "#invitations"):
        assert viewer.locator(control).count() == 0, control
    assert viewer.get_by_role("link", name="Remove", exact=False).count() == 0
    status = _forged_post(viewer, console_url(tenant, TEAM),
                          {"email": "x@team.example", "role": "admin"})  # fmt: skip
    assert status == 403
    assert _forged_post(viewer, console_url(tenant, f"{TEAM}{admin_row}/role/"),
                        {"role": "viewer"}) == 403  # fmt: skip
    viewer.context.close()

    _signed_in_as_on(page, mobile_page)  # the old owner, an admin now
    mobile_page.goto(console_url(tenant, TEAM))
    no_horizontal_scroll(mobile_page)
    button = mobile_page.locator("#invite-button")
    button.scroll_into_view_if_needed()
    assert button.is_visible()


def test_journey9_api_keys_and_webhooks(
    page, mobile_page, login, console_url, shoot, axe_check, no_horizontal_scroll, crew, request
):
    """An API key shown once (copy button; gone after a reload) and revoked; a webhook endpoint,
    a test send and a replay in its delivery log, disable and enable; a member."""
    tenant = crew["tenant"]
    hooks = request.getfixturevalue("receiver")  # the local HTTP server (webhook_support.py)
    # Deliveries run in this process (`run_in_thread(deliver)`), where the receiver's private
    # address is allowed: the replay's kick must not reach the session's Celery worker, whose
    # settings (rightly) refuse it.
    patch = request.getfixturevalue("monkeypatch")
    for module in (webhook_services, webhook_consumer, webhook_scheduling):
        patch.setattr(module, "kick", lambda: None)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    login(page, crew["admin"], tenant)
    page.goto(console_url(tenant, KEYS))
    page.fill("#id_name", "CI deploys")
    page.select_option("#id_authority", "member")
    page.click("#create-key")
    secret = page.locator("#secret")
    raw = secret.inner_text().strip()
    assert raw.startswith("qs_") and len(raw) > 40
    copy = page.get_by_role("button", name="Copy the API key to the clipboard")
    copy.click()
    page.wait_for_selector("#copy-status >> text=Copied to the clipboard.")
    assert page.evaluate("() => navigator.clipboard.readText()") == raw
    shoot(page, "journey9-3-key-once")
    axe_check(page)
    page.reload()
    assert page.url.endswith(KEYS)
    assert raw not in page.content() and page.locator("#secret").count() == 0
    assert f"…{raw[-8:]}" in page.inner_text("#api-keys")
    page.get_by_role("link", name="Revoke CI deploys").click()
    page.get_by_role("button", name="Revoke key").click()
    page.wait_for_selector('#api-keys [data-role="status"] >> text=revoked')

    page.goto(console_url(tenant, HOOKS))
    page.fill("#id_url", hooks.url("/journey9"))
    page.fill("#id_event_types", "monitor.*")
    page.click("#add-endpoint")
    assert page.locator("#secret").inner_text().startswith("whsec_")
    page.get_by_role("link", name="Go to the endpoint").click()
    page.click("#send-test")
    page.wait_for_selector('[data-event="webhook.test"] [data-role="response"] >> text=200')
    assert len(hooks.got("/journey9")) == 1

    def delivered_event() -> None:
        emit(tenant, "monitor.down", monitor_id="m-journey9")
        deliver()

    run_in_thread(delivered_event)
    row = _attempts_shown(page, "1 attempt")
    row.get_by_role("button", name="Replay").click()
    page.wait_for_selector("text=is queued to be sent again")
    run_in_thread(deliver)
    row = _attempts_shown(page, "2 attempts")
    row.locator("summary").click()
    assert row.locator('[data-trigger="replay"]').count() == 1
    assert [g[1]["webhook-id"] for g in hooks.got("/journey9")].count(
        row.get_attribute("id").removeprefix("msg-")
    ) == 2
    shoot(page, "journey9-4-webhook-log")
    axe_check(page)
    endpoint_path = urlsplit(page.url).path  # /console/team/webhooks/<id>/
    page.click("#toggle-endpoint")
    page.wait_for_selector("#endpoint-state >> text=disabled")
    page.click("#toggle-endpoint")
    page.wait_for_selector("#endpoint-state >> text=enabled")

    member = _other_page(page)
    login(member, crew["member"], tenant)
    member.goto(console_url(tenant, KEYS))
    assert member.locator("#key-form").count() == 0 and "CI deploys" not in member.content()
    assert _forged_post(member, console_url(tenant, KEYS),
                        {"name": "x", "authority": "member"}) == 403  # fmt: skip
    member.goto(console_url(tenant, endpoint_path))
    for control in ("#send-test", "#toggle-endpoint", "text=Replay", "[data-event]"):
        assert member.locator(control).count() == 0, control
    assert _forged_post(member, console_url(tenant, f"{endpoint_path}test/"), {}) == 403
    member.context.close()

    _signed_in_as_on(page, mobile_page)
    mobile_page.goto(console_url(tenant, endpoint_path))
    no_horizontal_scroll(mobile_page)
    mobile_page.goto(console_url(tenant, KEYS))
    no_horizontal_scroll(mobile_page)
    button = mobile_page.locator("#create-key")
    button.scroll_into_view_if_needed()
    assert button.is_visible()
