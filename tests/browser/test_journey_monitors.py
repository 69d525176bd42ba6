"""Journey 7 in a real browser: a member creates HTTP, TCP, TLS and heartbeat monitors from the
console; a monitor's page shows its response-time chart and 90 daily uptime bars; an incident
is acknowledged and resolved with a note; a status page is edited and previewed. A viewer sees
the pages without their controls and a forged POST is refused; axe finds nothing serious; at
375 px nothing scrolls sideways and the page's primary action is in view. The response-time
chart is drawn by the vendored uPlot (its canvas, line, failed-check ticks and tooltip checked).

No check runs here (no scheduler, no network): the monitor's past is written through
results_apply and a few hourly rollups (tests/monitoring/factories.py: seed_history), as the
scheduler would have written it, so the chart, the bars and the incident are the real ones."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from apps.monitoring.models import Incident, Monitor, StatusPage
from apps.tenants.models import Role
from apps.tenants.services import tenant_create
from tests.browser.charts import chart_drawn
from tests.monitoring.factories import create, in_tenant, make_page, seed_history

pytestmark = pytest.mark.browser

BASE = "/console/monitoring/"
SCREENSHOTS = Path(__file__).resolve().parents[2] / ".local" / "screenshots"
KINDS = (
    ("http", {"#id_url": "https://example.com/health", "#id_expected_status": "200-299"}),
    ("tcp", {"#id_host": "db.example.com", "#id_port": "5432"}),
    ("tls", {"#id_host": "example.com", "#id_port": "443"}),
    ("heartbeat", {"#id_period_s": "3600"}),
)


@pytest.fixture
def team(person):
    owner = person(email=f"owner-{uuid.uuid4().hex[:6]}@monitors.example")
    # Schemas outlive the truncation between tests: a slug of its own each time.
    tenant = tenant_create(name="Watch Team", slug=f"mon{uuid.uuid4().hex[:6]}", owner=owner)
    return {
        "tenant": tenant,
        "owner": owner,
        "member": person(tenant, Role.MEMBER),
        "viewer": person(tenant, Role.VIEWER),
    }


@pytest.fixture
def watched(team):
    """A monitor with 90 days behind it, ending down (an open incident), on a status page."""
    tenant = team["tenant"]
    monitor = create(tenant, kind="http", name="Storefront", url="https://shop.example.com/")
    seed_history(tenant, monitor)
    page = make_page(tenant, [monitor], slug=f"st-{tenant.slug}", title="Watch Team status")
    with in_tenant(tenant):
        incident = Incident.objects.get(monitor=monitor, status="open")
    return {"monitor": monitor, "incident": incident, "page": page}


def _clip(page, name: str, *selectors: str) -> None:
    """A small PNG of the boxes of `selectors` only (for docs/console.md)."""
    boxes = [page.locator(selector).bounding_box() for selector in selectors]
    top = min(b["y"] for b in boxes)
    left = min(b["x"] for b in boxes)
    clip = {"x": left, "y": top, "width": max(b["x"] + b["width"] for b in boxes) - left,
            "height": max(b["y"] + b["height"] for b in boxes) - top}  # fmt: skip
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), clip=clip, full_page=True)


def _forged_post(page, url: str) -> int:
    token = page.evaluate("() => document.cookie.match(/csrftoken=([^;]+)/)?.[1] || ''")
    return page.evaluate(
        """async ([url, token]) => (await fetch(url, {method: 'POST',
            headers: {'X-CSRFToken': token}, body: new URLSearchParams({note: 'x'})})).status""",
        [url, token],
    )


def test_journey7_monitors_incidents_and_status_pages(
    page, mobile_page, login, console_url, shoot, axe_check, no_horizontal_scroll, team, watched
):
    tenant = team["tenant"]
    login(page, team["member"], tenant)

    # Create one monitor of each kind; the form shows the chosen kind's fields.
    page.goto(console_url(tenant, f"{BASE}monitor/"))
    page.locator(f'a[href="{BASE}monitor/add/"]').first.click()
    page.wait_for_selector("#monitor-create")
    page.click("#create-monitor")  # empty: field errors, next to their fields
    page.wait_for_selector("#monitor-create .qs-error")
    for n, (kind, fields) in enumerate(KINDS):
        if n:
            page.goto(console_url(tenant, f"{BASE}monitor/add/"))
        page.select_option("#id_kind", kind)
        page.fill("#id_name", f"{kind} check")
        for selector, value in fields.items():
            page.fill(selector, value)
        if kind == "tls":
            assert page.locator("#id_url").is_hidden() and page.locator("#id_host").is_visible()
            axe_check(page)
            shoot(page, "journey7-1-new-monitor")
        page.click("#create-monitor")
        page.wait_for_selector("#monitor-status")
        assert page.locator("#monitor-title").inner_text().endswith(f"{kind} check")
    assert page.locator("#ping-url").inner_text().strip().startswith("http")
    with in_tenant(tenant):
        assert sorted(Monitor.objects.values_list("kind", flat=True)) == sorted(
            ["http", "http", "tcp", "tls", "heartbeat"]
        )

    # A monitor's page: the chart, the 90 bars, its state and checks.
    monitor_path = f"{BASE}monitor/{watched['monitor'].pk}/change/"
    page.goto(console_url(tenant, monitor_path))
    # Drawn by uPlot (static/console/charts.js): the line in its colour, red failed-check
    # ticks; hovering shows the slot's time and response time.
    chart_drawn(page, "#response-chart")
    chart_drawn(page, "#response-chart", colour="#dc2626")
    page.locator("#response-chart .u-over").hover(position={"x": 200, "y": 40})
    assert " ms" in page.locator("#response-chart .qs-chart-tip").inner_text()
    assert page.locator("#uptime-bars .qs-uptime-bar").count() == 90
    label = page.locator("#uptime-bars").get_attribute("aria-label")
    assert label.startswith("90-day uptime") and "below 99.9 %" in label
    assert "monitor results" in page.locator("#response-times figcaption").inner_text()
    assert page.locator("#recent-checks tbody tr").count() == 20
    axe_check(page)
    shoot(page, "journey7-2-monitor")
    _clip(page, "journey7-2-monitor-charts", "#monitor-title", "#response-times", "#uptime")

    # The incident: acknowledge, then resolve with a note.
    page.locator("#monitor-incidents tbody a").first.click()
    page.fill("#acknowledge-form textarea", "Looking at the load balancer")
    page.click("#acknowledge-button")
    page.wait_for_selector("#acknowledged >> text=Looking at the load balancer")
    page.fill("#resolve-form textarea", "Restarted the pool; it answers again")
    axe_check(page)
    page.click("#resolve-button")
    page.wait_for_selector("#resolved >> text=Restarted the pool")
    assert page.locator("#incident-status").inner_text() == "resolved"
    shoot(page, "journey7-3-incident")
    _clip(page, "journey7-3-incident-resolved", ".qs-page")

    # The status page: edit its title, then see the preview show it.
    status_path = f"{BASE}statuspage/{watched['page'].pk}/change/"
    page.goto(console_url(tenant, status_path))
    page.fill("input[name=title]", "Watch Team: live status")
    page.fill("textarea[name=announcement]", "Maintenance on Sunday 02:00 UTC.")
    page.locator("[type=submit][name=_save]").click()
    page.wait_for_url(f"**{BASE}statuspage/")
    page.goto(console_url(tenant, status_path))
    preview = page.frame_locator("#status-preview")
    preview.locator("h1", has_text="Watch Team: live status").wait_for()
    assert preview.locator("text=Maintenance on Sunday").count() == 1
    axe_check(page)
    shoot(page, "journey7-4-status-page")
    with in_tenant(tenant):
        assert StatusPage.objects.get(pk=watched["page"].pk).title == "Watch Team: live status"

    # A viewer: the same pages without their controls; a forged POST is 403.
    viewer = page.context.browser.new_context().new_page()
    login(viewer, team["viewer"], tenant)
    viewer.goto(console_url(tenant, monitor_path))
    chart_drawn(viewer, "#response-chart")
    assert viewer.locator("#pause-button, #resume-button").count() == 0
    viewer.goto(console_url(tenant, f"{BASE}monitor/"))
    assert viewer.locator(f'a[href="{BASE}monitor/add/"]').count() == 0
    with in_tenant(tenant):
        other = Incident.objects.create(monitor_id=watched["monitor"].pk, status="open",
                                        started_at=watched["incident"].started_at)  # fmt: skip
    viewer.goto(console_url(tenant, f"{BASE}incident/{other.pk}/change/"))
    assert viewer.locator("#acknowledge-button, #resolve-button").count() == 0
    for path in (f"{BASE}monitor/{watched['monitor'].pk}/pause/",
                 f"{BASE}incident/{other.pk}/resolve/"):  # fmt: skip
        assert _forged_post(viewer, console_url(tenant, path)) == 403, path
    viewer.context.close()

    # At 375 px: no sideways scroll, the primary action in view.
    login(mobile_page, team["member"], tenant)
    mobile_page.goto(console_url(tenant, monitor_path))
    assert 250 < chart_drawn(mobile_page, "#response-chart")["width"] < 375
    no_horizontal_scroll(mobile_page)
    control = mobile_page.locator("#pause-button")
    control.scroll_into_view_if_needed()
    assert control.is_visible()
    shoot(mobile_page, "journey7-5-monitor-375")
    mobile_page.goto(console_url(tenant, f"{BASE}monitor/add/"))
    no_horizontal_scroll(mobile_page)
    mobile_page.locator("#create-monitor").scroll_into_view_if_needed()
    assert mobile_page.locator("#create-monitor").is_visible()
