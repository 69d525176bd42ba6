"""Public status pages: /status/<slug>/ (HTML) and /status/<slug>/json on the root host, their
cache, and /api/v1/status-pages (CRUD, validation, roles, tenant isolation)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core import heartbeat
from apps.monitoring import selectors, services
from apps.monitoring.models import (
    Incident,
    IncidentStatus,
    MaintenanceWindow,
    Monitor,
    MonitorStatus,
    StatusPage,
    UptimeRollup,
)
from apps.monitoring.schedule.models import StatusPageRoute
from apps.tenants.models import Membership, Role, Tenant, TenantStatus
from tests.monitoring.factories import create, in_tenant, make_page

H = 3600.0


@pytest.fixture(autouse=True)
def _forget_cached_pages():
    """The cache is the real Redis and outlives each test's rolled-back transaction."""

    def forget():
        client = heartbeat.redis_client()
        prefix = settings.CACHES["default"]["KEY_PREFIX"]
        for key in client.scan_iter(match=f"*{prefix}*monitoring:status-page:*"):
            client.delete(key)

    forget()
    yield
    forget()


@pytest.fixture
def alice(client_for, world):
    return client_for(world["alice"], world["tenant_a"])


def set_status(tenant, monitor, status):
    with in_tenant(tenant):
        Monitor.objects.filter(pk=monitor.pk).update(
            status=status, status_changed_at=timezone.now()
        )


def rollup(monitor, hour, up=0.0, down=0.0, maintenance=0.0):
    return UptimeRollup(monitor_id=monitor.pk, hour=hour, up_s=up, down_s=down,
                        maintenance_s=maintenance)  # fmt: skip


# --- The public page --------------------------------------------------------------------------


def test_html_page_shows_monitors_states_bars_and_incidents(client, world):
    tenant = world["tenant_a"]
    web = create(tenant, kind="http", name="Website", url="https://example.com/")
    api = create(tenant, kind="http", name="Public <API>", url="https://api.example.com/")
    hidden = create(tenant, kind="http", name="Internal admin", url="https://admin.example.com/")
    set_status(tenant, web, MonitorStatus.UP)
    set_status(tenant, api, MonitorStatus.DOWN)
    now = timezone.now()
    with in_tenant(tenant):
        Incident.objects.create(monitor=api, started_at=now - dt.timedelta(minutes=5),
                                cause="10.0.0.5 refused")  # fmt: skip
        Incident.objects.create(monitor=hidden, started_at=now)
        hour = now.replace(minute=0, second=0, microsecond=0)
        UptimeRollup.objects.bulk_create([rollup(web, hour, up=H)])
    make_page(tenant, [web, api], announcement="Database upgrade on Saturday.")

    response = client.get("/status/acme/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "Acme status" in html and "Website" in html
    assert "Public &lt;API&gt;" in html  # escaped
    assert "Internal admin" not in html  # not chosen
    assert "10.0.0.5" not in html  # causes are not published
    assert "Some systems are down" in html
    assert "Operational" in html and "Down" in html
    assert "Database upgrade on Saturday." in html
    assert html.count('class="bar ') == 2 * 90
    assert f'title="{now.date().isoformat()}: 100 % up"' in html
    assert "Last updated" in html
    assert "<script" not in html and "http://" not in html and "https://" not in html


def test_json_shape(client, world):
    tenant = world["tenant_a"]
    web = create(tenant, kind="http", name="Website", url="https://example.com/")
    set_status(tenant, web, MonitorStatus.UP)
    now = timezone.now()
    with in_tenant(tenant):
        window = MaintenanceWindow.objects.create(
            name="Upgrade", starts_at=now + dt.timedelta(days=1),
            ends_at=now + dt.timedelta(days=1, hours=1),
        )  # fmt: skip
        window.monitors.add(web)
    make_page(tenant, [web], description="Our services")

    response = client.get("/status/acme/json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"page", "status", "generated_at", "uptime_90d_pct", "days", "monitors",
                         "incidents", "maintenance"}  # fmt: skip
    assert body["page"]["slug"] == "acme" and body["page"]["description"] == "Our services"
    assert body["status"] == "operational"
    assert len(body["days"]) == 90 and body["days"][-1] == now.date().isoformat()
    (monitor,) = body["monitors"]
    assert monitor["name"] == "Website" and monitor["status"] == "up"
    assert set(monitor) == {"id", "name", "status", "since", "last_checked_at",
                            "uptime_90d_pct", "daily_uptime_pct", "daily_level"}  # fmt: skip
    assert monitor["daily_uptime_pct"] == [None] * 90
    assert monitor["daily_level"] == ["no_data"] * 90  # no data is not 100 %
    assert body["uptime_90d_pct"] is None
    assert body["maintenance"] == [
        {"id": str(window.pk), "name": "Upgrade", "starts_at": selectors._iso(window.starts_at),
         "ends_at": selectors._iso(window.ends_at), "active": False,
         "monitors": [{"id": str(web.pk), "name": "Website"}], "all_monitors": False}
    ]  # fmt: skip


def test_daily_bars_from_fixed_rollups(world):
    tenant = world["tenant_a"]
    a = create(tenant, kind="http", name="A", url="https://a.example/")
    b = create(tenant, kind="http", name="B", url="https://b.example/")
    now = dt.datetime(2026, 11, 23, 12, 30, tzinfo=dt.UTC)
    day = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    # Yesterday: 5400 s up, 1800 s down (75 %); two days ago: maintenance only; three days
    # ago: a whole day with half an hour down; 89 days ago (the first bar): 1 s down; 90 days
    # ago: outside the window. B: 50 min up, 10 min down today.
    rows = [
        rollup(a, day - dt.timedelta(hours=14), up=H),
        rollup(a, day - dt.timedelta(hours=13), up=1800, down=1800),
        rollup(a, day - dt.timedelta(days=2) + dt.timedelta(hours=3), maintenance=H),
        *[rollup(a, day - dt.timedelta(days=3) + dt.timedelta(hours=h), up=H) for h in range(23)],
        rollup(a, day - dt.timedelta(days=3) + dt.timedelta(hours=23), up=1800, down=1800),
        rollup(a, day - dt.timedelta(days=89), up=3599, down=1),
        rollup(a, day - dt.timedelta(days=90), down=H),
        rollup(b, day + dt.timedelta(hours=1), up=3000, down=600),
    ]
    page = make_page(tenant, [b, a])
    with in_tenant(tenant):
        UptimeRollup.objects.bulk_create(rows)
        payload = selectors.status_page_payload(page_id=page.pk, now=now)

    assert payload["days"][0] == "2026-08-26" and payload["days"][-1] == "2026-11-23"
    first, second = payload["monitors"]
    assert [first["name"], second["name"]] == ["B", "A"]  # the page's order
    pct, level = second["daily_uptime_pct"], second["daily_level"]
    assert (pct[-2], level[-2]) == (75.0, "low")
    assert (pct[-3], level[-3]) == (None, "maintenance")
    assert (pct[-4], level[-4]) == (round(100 * (23 * H + 1800) / (24 * H), 2), "partial")
    assert (pct[0], level[0]) == (99.97, "full")
    assert pct[-1] is None and level[-1] == "no_data"  # today: nothing yet
    assert pct.count(None) == 90 - 3  # the maintenance-only day has no uptime either
    up = H + 1800 + 23 * H + 1800 + 3599
    down = 1800 + 1800 + 1
    assert second["uptime_90d_pct"] == round(100 * up / (up + down), 3)
    assert first["daily_uptime_pct"][-1] == round(100 * 3000 / 3600, 2)
    assert first["daily_level"][-1] == "low"
    assert payload["uptime_90d_pct"] == round(100 * (up + 3000) / (up + down + 3600), 3)


def test_overall_status(world):
    tenant = world["tenant_a"]
    a = create(tenant, kind="http", name="A", url="https://a.example/")
    b = create(tenant, kind="http", name="B", url="https://b.example/")
    page = make_page(tenant, [a, b])

    def overall():
        with in_tenant(tenant):
            return selectors.status_page_payload(page_id=page.pk)["status"]

    set_status(tenant, a, MonitorStatus.UP)
    set_status(tenant, b, MonitorStatus.UP)
    assert overall() == "operational"
    set_status(tenant, b, MonitorStatus.DOWN)
    assert overall() == "degraded"
    set_status(tenant, a, MonitorStatus.DOWN)
    assert overall() == "major_outage"
    now = timezone.now()
    with in_tenant(tenant):
        MaintenanceWindow.objects.create(name="all", starts_at=now - dt.timedelta(minutes=1),
                                         ends_at=now + dt.timedelta(hours=1))  # fmt: skip
    assert overall() == "maintenance"


def test_unknown_and_private_pages_are_404(client, world):
    tenant = world["tenant_a"]
    make_page(tenant, slug="secret-page", public=False)
    for slug in ("secret-page", "no-such-page"):
        html = client.get(f"/status/{slug}/")
        assert html.status_code == 404 and html["Content-Type"].startswith("text/html")
        assert b"Not found" in html.content
        json = client.get(f"/status/{slug}/json")
        assert json.status_code == 404
        assert json["Content-Type"] == "application/problem+json"
        assert json.json()["type"] == "/problems/not-found"
    assert client.post("/status/acme/").status_code == 405


def test_a_suspended_tenants_page_is_404(client, world):
    tenant = world["tenant_a"]
    make_page(tenant)
    assert client.get("/status/acme/json").status_code == 200
    cache.delete_many(selectors.status_page_cache_keys("acme"))
    Tenant.objects.filter(pk=tenant.pk).update(status=TenantStatus.SUSPENDED)
    assert client.get("/status/acme/json").status_code == 404


def test_cache_hit_costs_no_query_then_edit_invalidates(
    client, world, django_assert_num_queries, django_capture_on_commit_callbacks
):
    tenant = world["tenant_a"]
    web = create(tenant, kind="http", name="Website", url="https://example.com/")
    page = make_page(tenant, [web])
    first = client.get("/status/acme/")
    assert first["Cache-Control"] == f"public, max-age={settings.MONITORING_STATUS_PAGE_CACHE_S}"
    etag = first["ETag"]
    json_first = client.get("/status/acme/json")
    with django_assert_num_queries(0):
        again = client.get("/status/acme/")
        json_again = client.get("/status/acme/json")
        not_modified = client.get("/status/acme/", HTTP_IF_NONE_MATCH=etag)
    assert again.content == first.content and again["ETag"] == etag
    assert json_again.content == json_first.content
    assert not_modified.status_code == 304 and not_modified["ETag"] == etag

    with django_capture_on_commit_callbacks(execute=True), in_tenant(tenant):
        services.status_page_update(page=page, tenant=tenant, actor=services.SYSTEM,
                                    title="Acme, renamed")  # fmt: skip
    changed = client.get("/status/acme/")
    assert b"Acme, renamed" in changed.content and changed["ETag"] != etag
    assert client.get("/status/acme/", HTTP_IF_NONE_MATCH=etag).status_code == 200
    assert client.get("/status/acme/json").json()["page"]["title"] == "Acme, renamed"

    # Made private, renamed or deleted: gone at once, not after the cache's TTL.
    with django_capture_on_commit_callbacks(execute=True), in_tenant(tenant):
        services.status_page_update(page=page, tenant=tenant, actor=services.SYSTEM,
                                    slug="acme-2")  # fmt: skip
    assert client.get("/status/acme/").status_code == 404
    assert client.get("/status/acme-2/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True), in_tenant(tenant):
        services.status_page_delete(page=StatusPage.objects.get(pk=page.pk), tenant=tenant,
                                    actor=services.SYSTEM)  # fmt: skip
    assert client.get("/status/acme-2/").status_code == 404
    assert not StatusPageRoute.objects.filter(page_id=page.pk).exists()


def test_a_stale_copy_is_served_while_another_request_renders(
    client, world, django_assert_num_queries
):
    tenant = world["tenant_a"]
    make_page(tenant)
    first = client.get("/status/acme/json")
    key = selectors.status_page_cache_keys("acme")[1]
    cache.set(key, {**cache.get(key), "fresh_until": 0}, timeout=60)  # past its freshness
    cache.add(f"{key}:lock", 1, timeout=10)  # somebody else is rendering it
    with django_assert_num_queries(0):
        stale = client.get("/status/acme/json")
    assert stale.content == first.content
    cache.delete(f"{key}:lock")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/status/acme/json").status_code == 200
    assert queries.captured_queries  # rendered anew
    assert cache.get(key)["fresh_until"] > 0


# --- Constant queries -------------------------------------------------------------------------


def _bulk_page(tenant, n: int, slug: str):
    now = timezone.now()
    with in_tenant(tenant):
        monitors = Monitor.objects.bulk_create(
            Monitor(name=f"{slug}-{i}", kind="http", url=f"https://e{i}.example/",
                    status=MonitorStatus.UP if i % 7 else MonitorStatus.DOWN)
            for i in range(n)
        )  # fmt: skip
        UptimeRollup.objects.bulk_create(
            rollup(m, (now - dt.timedelta(days=d)).replace(minute=0, second=0, microsecond=0),
                   up=3000, down=600)
            for m in monitors for d in (0, 1, 30)
        )  # fmt: skip
        Incident.objects.bulk_create(
            Incident(monitor=m, started_at=now, status=IncidentStatus.OPEN) for m in monitors[:3]
        )
        window = MaintenanceWindow.objects.create(
            name="w", starts_at=now + dt.timedelta(hours=1), ends_at=now + dt.timedelta(hours=2)
        )
        window.monitors.add(*monitors[:5])
    return make_page(tenant, monitors, slug=slug), monitors


def _queries(client, path: str) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    # django-tenants' "SET search_path" per cursor is not a read of data.
    return sum(not q["sql"].startswith("SET ") for q in queries.captured_queries), response


def test_query_counts_do_not_grow_with_monitors(client, alice, world):
    tenant = world["tenant_a"]
    _bulk_page(tenant, 10, "small")
    _bulk_page(tenant, 1000, "large")
    counts = {}
    for slug in ("small", "large"):
        counts[slug, "json"], response = _queries(client, f"/status/{slug}/json")
        assert len(response.json()["monitors"]) == (10 if slug == "small" else 1000)
        counts[slug, "html"], response = _queries(client, f"/status/{slug}/")
        assert response.content.count(b'class="bar ') == 90 * (10 if slug == "small" else 1000)
    # The route, the page, its monitors, the daily sums, incidents, windows and their monitors.
    assert counts["small", "json"] == counts["large", "json"] == 7
    assert counts["small", "html"] == counts["large", "html"] == 7
    few, body = _queries(alice, "/api/v1/status-pages?page_size=1")
    assert len(body.json()["results"][0]["monitor_ids"]) == 1000  # newest first: "large"
    many, body = _queries(alice, "/api/v1/status-pages")
    assert sorted(len(p["monitor_ids"]) for p in body.json()["results"]) == [10, 1000]
    assert few == many


# --- The tenant API ---------------------------------------------------------------------------


def test_api_create_read_update_delete(alice, world, django_capture_on_commit_callbacks):
    tenant = world["tenant_a"]
    web = create(tenant, kind="http", name="Website", url="https://example.com/")
    api = create(tenant, kind="http", name="API", url="https://api.example.com/")
    response = alice.post(
        "/api/v1/status-pages",
        {"slug": "acme", "title": "Acme status", "monitor_ids": [str(api.pk), str(web.pk)]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["Location"] == f"/api/v1/status-pages/{body['id']}"
    assert body["monitor_ids"] == [str(api.pk), str(web.pk)]
    assert body["public"] is True and body["url"].endswith("/status/acme/")
    route = StatusPageRoute.objects.get(slug="acme")
    assert route.tenant_id == tenant.pk and str(route.page_id) == body["id"]

    assert alice.get(f"/api/v1/status-pages/{body['id']}").json()["title"] == "Acme status"
    listed = alice.get("/api/v1/status-pages").json()
    assert [p["id"] for p in listed["results"]] == [body["id"]] and "next" in listed
    patched = alice.patch(
        f"/api/v1/status-pages/{body['id']}",
        {"monitor_ids": [str(web.pk)], "announcement": "All good.", "slug": "acme-inc"},
        format="json",
    )
    assert patched.status_code == 200, patched.json()
    assert patched.json()["monitor_ids"] == [str(web.pk)]
    assert patched.json()["announcement"] == "All good."
    assert StatusPageRoute.objects.get(page_id=body["id"]).slug == "acme-inc"

    assert alice.delete(f"/api/v1/status-pages/{body['id']}").status_code == 204
    assert alice.get(f"/api/v1/status-pages/{body['id']}").status_code == 404
    assert not StatusPageRoute.objects.filter(page_id=body["id"]).exists()


@pytest.mark.parametrize(
    ("payload", "field", "status"),
    [
        ({"slug": "ab", "title": "t"}, "slug", 400),
        ({"slug": "Acme", "title": "t"}, "slug", 400),
        ({"slug": "-acme", "title": "t"}, "slug", 400),
        ({"slug": "admin", "title": "t"}, "slug", 400),
        ({"slug": "acme", "title": "t", "monitor_ids": ["nope"]}, "monitor_ids", 400),
        ({"slug": "acme", "title": "t",
          "monitor_ids": ["5b1f7c2e-8d4a-4e6b-9c3f-0a1b2c3d4e5f"]}, "monitor_ids", 400),
        ({"slug": "acme"}, "title", 400),
    ],
)  # fmt: skip
def test_api_validation(alice, payload, field, status):
    response = alice.post("/api/v1/status-pages", payload, format="json")
    assert response.status_code == status, response.json()
    body = response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert body["type"] == "/problems/validation-error"
    assert any(e["field"].split(".")[0] == field for e in body["errors"]), body


def test_api_refuses_another_tenants_monitor_and_a_taken_slug(alice, client_for, world):
    theirs = create(world["tenant_b"], kind="http", name="B", url="https://b.example/")
    response = alice.post(
        "/api/v1/status-pages",
        {"slug": "acme", "title": "t", "monitor_ids": [str(theirs.pk)]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "monitor_ids"

    make_page(world["tenant_b"], slug="bravo-status")
    taken = alice.post("/api/v1/status-pages", {"slug": "bravo-status", "title": "t"},
                       format="json")  # fmt: skip
    assert taken.status_code == 409 and taken.json()["type"] == "/problems/conflict"
    mine = alice.post("/api/v1/status-pages", {"slug": "alpha-status", "title": "t"},
                      format="json").json()  # fmt: skip
    rename = alice.patch(f"/api/v1/status-pages/{mine['id']}", {"slug": "bravo-status"},
                         format="json")  # fmt: skip
    assert rename.status_code == 409


def test_another_tenants_page_is_404(alice, world):
    theirs = make_page(world["tenant_b"], slug="bravo-status")
    path = f"/api/v1/status-pages/{theirs.pk}"
    assert alice.get(path).status_code == 404
    assert alice.patch(path, {"title": "mine now"}, format="json").status_code == 404
    assert alice.delete(path).status_code == 404
    assert alice.get("/api/v1/status-pages/not-a-uuid").status_code == 404
    assert alice.get("/api/v1/status-pages").json()["results"] == []
    assert StatusPageRoute.objects.filter(page_id=theirs.pk).exists()


def test_viewer_reads_but_may_not_write(client_for, world):
    tenant = world["tenant_a"]
    viewer = get_user_model().objects.create_user(
        username="vic@example.com", email="vic@example.com", password="pw"
    )
    Membership.objects.create(tenant=tenant, user=viewer, role=Role.VIEWER)
    client = client_for(viewer, tenant)
    page = make_page(tenant)
    assert client.get("/api/v1/status-pages").status_code == 200
    assert client.get(f"/api/v1/status-pages/{page.pk}").status_code == 200
    denied = client.post("/api/v1/status-pages", {"slug": "vic-page", "title": "t"},
                         format="json")  # fmt: skip
    assert denied.status_code == 403 and denied.json()["type"] == "/problems/permission-denied"
    path = f"/api/v1/status-pages/{page.pk}"
    assert client.patch(path, {"title": "x"}, format="json").status_code == 403
    assert client.delete(path).status_code == 403


def test_audited(world):
    from apps.core.models import AuditEvent

    page = make_page(world["tenant_a"])
    assert AuditEvent.objects.filter(action="status_page.created", target_id=str(page.pk)).exists()
