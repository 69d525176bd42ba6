"""Journey 7's pages in the tenant console, through Django's client: members create monitors of
every kind (field errors next to the field), a monitor's page draws its response times and 90
uptime bars from results and rollups, pause and resume, incidents acknowledged and resolved
with a note (audited, through the API's services), a status page's preview; viewers read but
have no controls and a forged POST is 403; another tenant's monitor or incident is 404; the
list pages cost the same number of queries for 1 row as for many."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.models import AuditEvent
from apps.monitoring.models import Incident, Monitor, MonitorStatus
from apps.tenants.models import Membership, Role
from tests.monitoring.factories import create, in_tenant, make_page, seed_history

HOST = "alpha.localhost"
BASE = "/console/monitoring/"


def _person(tenant, email, role):
    user = get_user_model().objects.create_user(username=email, email=email, password="pw")
    Membership.objects.create(tenant=tenant, user=user, role=role)
    return user


@pytest.fixture
def alpha(world):
    return world["tenant_a"]


@pytest.fixture
def member(client, alpha):
    client.force_login(_person(alpha, "mel@example.com", Role.MEMBER))
    return client


@pytest.fixture
def viewer(client, alpha):
    client.force_login(_person(alpha, "vic@example.com", Role.VIEWER))
    return client


def _get(client, path, **kwargs):
    return client.get(path, HTTP_HOST=HOST, **kwargs)


def _post(client, path, data=None):
    return client.post(path, data or {}, HTTP_HOST=HOST)


KINDS = {
    "http": {"url": "https://example.com/health", "expected_status": "200-299, 301",
             "keyword": "ok", "interval_s": "60", "timeout_s": "10"},
    "tcp": {"host": "db.example.com", "port": "5432", "interval_s": "60", "timeout_s": "5"},
    "tls": {"host": "example.com", "port": "443", "tls_expiry_days": "21",
            "interval_s": "300", "timeout_s": "10"},
    "heartbeat": {"period_s": "3600", "grace_s": "300"},
}  # fmt: skip


def test_member_creates_each_kind(member, alpha):
    for kind, fields in KINDS.items():
        # Fields of other kinds are sent too (as a browser without JavaScript would): ignored.
        form = {"kind": kind, "name": f"{kind} one", "host": "", "url": "", **fields}
        response = _post(member, f"{BASE}monitor/add/", form)
        assert response.status_code == 302, response.content.decode()[:3000]
    with in_tenant(alpha):
        made = {m.kind: m for m in Monitor.objects.all()}
        assert set(made) == set(KINDS)
        assert made["http"].expected_status == ["200-299", "301"]
        assert made["tcp"].port == 5432 and made["tls"].tls_expiry_days == 21
        assert made["heartbeat"].period_s == 3600 and made["heartbeat"].ping_token
    assert AuditEvent.objects.filter(action="monitor.created").count() == 4
    page = _get(member, f"{BASE}monitor/{made['heartbeat'].pk}/change/").content.decode()
    assert f"/ping/{made['heartbeat'].ping_token}" in page


def test_field_errors_are_next_to_their_field(member, alpha):
    response = _post(member, f"{BASE}monitor/add/", {"kind": "http", "name": "no url"})
    assert response.status_code == 400
    assert "An http(s):// URL with a host is required." in response.content.decode()
    assert response.context["form"].errors["url"]
    response = _post(member, f"{BASE}monitor/add/",
                     {"kind": "heartbeat", "name": "hb", "period_s": "5"})  # fmt: skip
    assert response.status_code == 400 and response.context["form"].errors["period_s"]
    response = _post(member, f"{BASE}monitor/add/", {"kind": "tcp", "name": "tcp"})
    assert response.status_code == 400 and response.context["form"].errors["host"]
    with in_tenant(alpha):
        assert not Monitor.objects.exists()


def test_monitor_page_draws_chart_and_bars(member, alpha):
    monitor = create(alpha, kind="http", name="Website", url="https://example.com/")
    assert seed_history(alpha, monitor) == 144
    page = _get(member, f"{BASE}monitor/{monitor.pk}/change/")
    body = page.content.decode()
    assert page.status_code == 200
    assert 'id="response-chart"' in body and "<noscript><svg" in body and "<polyline" in body
    assert "Source: monitor results (each check, kept raw for 7 days); 144 point(s)" in body
    # The data uPlot draws (static/console/charts.js): a point per slot with checks, the
    # failed ones as red ticks, the whole 24 hours on the x axis.
    assert '<script id="response-chart-plot-data" type="application/json">' in body
    spec = page.context["chart"]["spec"]
    values = [v for v in spec["series"][0]["values"] if v is not None]
    assert len(values) == len(spec["x"]) >= 140 and all(20 <= v <= 200 for v in values)
    assert spec["x_max"] - spec["x_min"] == 24 * 3600 and spec["x"] == sorted(spec["x"])
    assert 2 <= len(spec["marks"]) <= 4 and {m["style"] for m in spec["marks"]} == {"tick"}
    assert spec["summary"].startswith("Response time over the last 24 hours: average")
    assert body.count('class="qs-uptime-bar"') == 90
    assert 'role="img" aria-label="90-day uptime' in body
    assert "day(s) below 99.9 %" in body and 'id="pause-button"' in body
    longer = _get(member, f"{BASE}monitor/{monitor.pk}/change/?range=90d").content.decode()
    assert "Source: hourly rollups of the monitor results" in longer


def test_pause_and_resume(member, alpha):
    monitor = create(alpha, kind="tcp", name="db", host="db.example.com", port=5432)
    assert _post(member, f"{BASE}monitor/{monitor.pk}/pause/").status_code == 302
    with in_tenant(alpha):
        assert Monitor.objects.get(pk=monitor.pk).status == MonitorStatus.PAUSED
    page = _get(member, f"{BASE}monitor/{monitor.pk}/change/").content.decode()
    assert 'id="resume-button"' in page
    assert _post(member, f"{BASE}monitor/{monitor.pk}/resume/").status_code == 302
    with in_tenant(alpha):
        assert Monitor.objects.get(pk=monitor.pk).status == MonitorStatus.PENDING
    assert {"monitor.paused", "monitor.resumed"} <= set(
        AuditEvent.objects.values_list("action", flat=True)
    )


def test_acknowledge_then_resolve_with_a_note(member, alpha):
    monitor = create(alpha, kind="http", name="API", url="https://api.example.com/")
    seed_history(alpha, monitor, days=3)
    with in_tenant(alpha):
        incident = Incident.objects.get(monitor=monitor, status="open")
    path = f"{BASE}incident/{incident.pk}/"
    page = _get(member, f"{path}change/").content.decode()
    assert 'id="acknowledge-button"' in page and 'id="resolve-button"' in page
    assert _post(member, f"{path}acknowledge/", {"note": "Looking at it"}).status_code == 302
    again = _post(member, f"{path}acknowledge/", {"note": "twice"})
    assert again.status_code == 302  # refused with a message, nothing changed
    refused = _post(member, f"{path}resolve/", {"note": ""})
    assert refused.status_code == 400 and refused.context["resolve_form"].errors["note"]
    assert _post(member, f"{path}resolve/", {"note": "Restarted the pool"}).status_code == 302
    with in_tenant(alpha):
        incident.refresh_from_db()
    assert incident.status == "resolved" and incident.resolve_note == "Restarted the pool"
    assert incident.acknowledge_note == "Looking at it" and incident.acknowledged_by_id
    page = _get(member, f"{path}change/").content.decode()
    assert "Restarted the pool" in page and "mel@example.com" in page
    assert 'id="resolve-button"' not in page
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"incident.acknowledged", "incident.resolved"} <= actions


def test_viewer_reads_without_controls_and_forged_posts_are_403(viewer, alpha):
    monitor = create(alpha, kind="http", name="API", url="https://api.example.com/")
    seed_history(alpha, monitor, days=3)
    with in_tenant(alpha):
        incident = Incident.objects.get(monitor=monitor, status="open")
    listing = _get(viewer, f"{BASE}monitor/").content.decode()
    assert "API" in listing and "/monitor/add/" not in listing
    page = _get(viewer, f"{BASE}monitor/{monitor.pk}/change/").content.decode()
    assert 'id="response-chart"' in page and 'id="pause-button"' not in page
    incident_page = _get(viewer, f"{BASE}incident/{incident.pk}/change/").content.decode()
    assert "acknowledge-button" not in incident_page and "resolve-button" not in incident_page
    assert _get(viewer, f"{BASE}monitor/add/").status_code == 403
    forged = [
        (f"{BASE}monitor/add/", {"kind": "tcp", "name": "x", "host": "h", "port": "1"}),
        (f"{BASE}monitor/{monitor.pk}/pause/", {}),
        (f"{BASE}monitor/{monitor.pk}/resume/", {}),
        (f"{BASE}incident/{incident.pk}/acknowledge/", {"note": "x"}),
        (f"{BASE}incident/{incident.pk}/resolve/", {"note": "x"}),
    ]
    for path, data in forged:
        assert _post(viewer, path, data).status_code == 403, path
    with in_tenant(alpha):
        incident.refresh_from_db()
        assert Monitor.objects.count() == 1
    assert incident.status == "open" and incident.acknowledged_at is None


def test_another_tenants_monitor_and_incident_are_404(member, world):
    bravo = world["tenant_b"]
    theirs = create(bravo, kind="http", name="theirs", url="https://b.example.com/")
    seed_history(bravo, theirs, days=3)
    page = make_page(bravo, [theirs], slug="bravo-status")
    with in_tenant(bravo):
        incident = Incident.objects.get(monitor=theirs, status="open")
    for path in (
        f"{BASE}monitor/{theirs.pk}/change/",
        f"{BASE}incident/{incident.pk}/change/",
        f"{BASE}statuspage/{page.pk}/preview/",
        f"{BASE}monitor/not-a-uuid/change/",
    ):
        assert _get(member, path).status_code == 404, path  # fmt: skip
    for path in (
        f"{BASE}monitor/{theirs.pk}/pause/",
        f"{BASE}incident/{incident.pk}/resolve/",
        f"{BASE}incident/{incident.pk}/acknowledge/",
    ):
        assert _post(member, path, {"note": "x"}).status_code == 404, path  # fmt: skip
    with in_tenant(bravo):
        assert Incident.objects.get(pk=incident.pk).status == "open"


def test_status_page_preview_renders_the_public_page(member, alpha):
    monitor = create(alpha, kind="http", name="Website", url="https://example.com/")
    page = make_page(alpha, [monitor], slug="alpha-preview", title="Alpha status", public=False)
    change = _get(member, f"{BASE}statuspage/{page.pk}/change/").content.decode()
    assert f"{BASE}statuspage/{page.pk}/preview/" in change and 'id="status-preview"' in change
    preview = _get(member, f"{BASE}statuspage/{page.pk}/preview/")
    assert preview.status_code == 200 and preview["X-Frame-Options"] == "SAMEORIGIN"
    body = preview.content.decode()
    assert "Alpha status" in body and "Website" in body  # not public yet, previewed all the same


def _count(client, path) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = _get(client, path)
    assert response.status_code == 200
    return len(queries)


def test_list_pages_cost_constant_queries(member, alpha):
    first = create(alpha, kind="http", name="m0", url="https://example.com/0")
    seed_history(alpha, first, days=3)
    make_page(alpha, [first], slug="alpha-one")
    paths = (f"{BASE}monitor/", f"{BASE}incident/", f"{BASE}statuspage/")
    few = {path: _count(member, path) for path in paths}
    for n in range(1, 6):
        monitor = create(alpha, kind="http", name=f"m{n}", url=f"https://example.com/{n}")
        seed_history(alpha, monitor, days=3)
        make_page(alpha, [monitor, first], slug=f"alpha-{n}")
    many = {path: _count(member, path) for path in paths}
    assert many == few


def test_a_suspended_tenant_is_read_only(member, alpha):
    from apps.tenants.models import Tenant, TenantStatus

    monitor = create(alpha, kind="http", name="API", url="https://api.example.com/")
    seed_history(alpha, monitor, days=3)
    with in_tenant(alpha):
        incident = Incident.objects.get(monitor=monitor, status="open")
    Tenant.objects.filter(pk=alpha.pk).update(status=TenantStatus.SUSPENDED)
    page = _get(member, f"{BASE}monitor/{monitor.pk}/change/").content.decode()
    assert 'id="response-chart"' in page and 'id="pause-button"' not in page
    incident_page = _get(member, f"{BASE}incident/{incident.pk}/change/").content.decode()
    assert "resolve-button" not in incident_page
    for path in (f"{BASE}monitor/{monitor.pk}/pause/", f"{BASE}incident/{incident.pk}/resolve/",
                 f"{BASE}monitor/add/"):  # fmt: skip
        assert _post(member, path, {"note": "x"}).status_code == 423, path
