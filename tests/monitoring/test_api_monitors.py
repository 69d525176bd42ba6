"""/api/v1/monitors… and /api/v1/incidents…: CRUD, pause/resume, results, uptime, roles,
tenant isolation (404), no credentials (401), malformed input (problem details)."""

import pytest
from rest_framework.test import APIClient

from apps.monitoring.schedule.models import CheckSchedule
from apps.tenants.models import Membership, Tenant
from tests.monitoring.factories import check_once, create

HTTP = {"name": "Website", "kind": "http", "interval_s": 30, "failures_before_down": 2,
        "http": {"url": "https://example.com/health", "keyword": "ok"}}  # fmt: skip


@pytest.fixture
def alice(client_for, world):
    return client_for(world["alice"], world["tenant_a"])


def test_create_read_update_delete(alice, world):
    response = alice.post("/api/v1/monitors", HTTP, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["Location"] == f"/api/v1/monitors/{body['id']}"
    assert body["http"]["url"] == "https://example.com/health"
    assert body["state"]["status"] == "pending"
    assert body["socket"] is None and body["heartbeat"] is None
    assert CheckSchedule.objects.get(monitor_id=body["id"]).interval_s == 30

    assert alice.get(f"/api/v1/monitors/{body['id']}").json()["name"] == "Website"
    patched = alice.patch(
        f"/api/v1/monitors/{body['id']}",
        {"interval_s": 120, "http": {"max_response_ms": 900}},
        format="json",
    )
    assert patched.status_code == 200, patched.json()
    assert patched.json()["http"]["max_response_ms"] == 900
    assert patched.json()["http"]["keyword"] == "ok"  # untouched
    assert CheckSchedule.objects.get(monitor_id=body["id"]).interval_s == 120

    assert alice.delete(f"/api/v1/monitors/{body['id']}").status_code == 204
    assert alice.get(f"/api/v1/monitors/{body['id']}").status_code == 404
    assert not CheckSchedule.objects.filter(monitor_id=body["id"]).exists()


def test_heartbeat_create_shows_its_ping_url(alice):
    body = alice.post(
        "/api/v1/monitors",
        {"name": "cron", "kind": "heartbeat", "heartbeat": {"period_s": 600}},
        format="json",
    ).json()
    assert body["heartbeat"]["ping_url"].endswith(
        "/ping/" + str(CheckSchedule.objects.get(monitor_id=body["id"]).ping_token)
    )
    assert body["heartbeat"]["grace_s"] == 300


def test_pause_and_resume(alice, world):
    monitor_id = alice.post("/api/v1/monitors", HTTP, format="json").json()["id"]
    paused = alice.post(f"/api/v1/monitors/{monitor_id}/pause")
    assert paused.status_code == 200 and paused.json()["state"]["status"] == "paused"
    assert CheckSchedule.objects.get(monitor_id=monitor_id).next_run_at is None
    resumed = alice.post(f"/api/v1/monitors/{monitor_id}/resume").json()
    assert resumed["state"]["status"] == "pending"
    assert CheckSchedule.objects.get(monitor_id=monitor_id).next_run_at is not None


def test_results_uptime_and_incidents(alice, world, http_target):
    tenant = world["tenant_a"]
    monitor = create(tenant, kind="http", name="web", url=http_target.url + "/flip")
    check_once(tenant, monitor)
    http_target.state["flip"] = 500
    check_once(tenant, monitor)
    results = alice.get(f"/api/v1/monitors/{monitor.pk}/results?page_size=1").json()
    assert len(results["results"]) == 1 and results["next"]
    assert results["results"][0]["status_code"] == 500
    second = APIClient()
    second.force_authenticate(world["alice"])
    nxt = second.get(results["next"], HTTP_X_TENANT_ID="alpha").json()
    assert nxt["results"][0]["status_code"] == 200
    assert alice.get(f"/api/v1/monitors/{monitor.pk}/results?ok=false").json()["results"][0][
        "ok"] is False  # fmt: skip
    uptime = alice.get(f"/api/v1/monitors/{monitor.pk}/uptime").json()
    assert set(uptime["windows"]) == {"24h", "7d", "30d"}
    assert uptime["windows"]["24h"]["up_s"] > 0
    assert uptime["series"][0]["checks"] == 2
    incidents = alice.get(f"/api/v1/incidents?monitor={monitor.pk}").json()["results"]
    assert incidents[0]["status"] == "open" and incidents[0]["monitor"]["name"] == "web"
    detail = alice.get(f"/api/v1/incidents/{incidents[0]['id']}").json()
    assert detail["cause"].startswith("Status 500")
    assert alice.get("/api/v1/incidents?status=resolved").json()["results"] == []


def test_another_tenants_monitors_and_incidents_are_404(client_for, world, http_target):
    tenant = world["tenant_a"]
    monitor = create(tenant, kind="http", name="a", url=http_target.url + "/status/500")
    check_once(tenant, monitor)
    bob = client_for(world["bob"], world["tenant_b"])
    from apps.monitoring.models import Incident
    from tests.monitoring.factories import in_tenant

    with in_tenant(tenant):
        incident_id = Incident.objects.get(monitor=monitor).pk
    for method, path in [
        ("get", f"/api/v1/monitors/{monitor.pk}"),
        ("patch", f"/api/v1/monitors/{monitor.pk}"),
        ("delete", f"/api/v1/monitors/{monitor.pk}"),
        ("post", f"/api/v1/monitors/{monitor.pk}/pause"),
        ("post", f"/api/v1/monitors/{monitor.pk}/resume"),
        ("get", f"/api/v1/monitors/{monitor.pk}/results"),
        ("get", f"/api/v1/monitors/{monitor.pk}/uptime"),
        ("get", f"/api/v1/incidents/{incident_id}"),
        ("get", "/api/v1/monitors/not-a-uuid"),
    ]:
        response = getattr(bob, method)(path, {}, format="json")
        assert response.status_code == 404, (method, path)
        assert response["Content-Type"] == "application/problem+json"
    assert bob.get("/api/v1/monitors").json()["results"] == []
    assert bob.get("/api/v1/incidents").json()["results"] == []
    # Not a member of alpha at all: the tenant itself is 404.
    charlie = client_for(world["outsider"], tenant)
    assert charlie.get("/api/v1/monitors").status_code == 404
    assert charlie.get(f"/api/v1/monitors/{monitor.pk}").status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/v1/monitors"), ("post", "/api/v1/monitors"),
     ("get", "/api/v1/monitors/5b1f7c2e-8d4a-4e6b-9c3f-0a1b2c3d4e5f"),
     ("patch", "/api/v1/monitors/5b1f7c2e-8d4a-4e6b-9c3f-0a1b2c3d4e5f"),
     ("delete", "/api/v1/monitors/5b1f7c2e-8d4a-4e6b-9c3f-0a1b2c3d4e5f"),
     ("post", "/api/v1/monitors/5b1f7c2e-8d4a-4e6b-9c3f-0a1b2c3d4e5f/pause"),
     ("post", "/api/v1/monitors/5b1f7c2e-8d4a-4e6b-9c3f-0a1b2c3d4e5f/resume"),
     ("get", "/api/v1/monitors/5b1f7c2e-8d4a-4e6b-9c3f-0a1b2c3d4e5f/results"),
     ("get", "/api/v1/monitors/5b1f7c2e-8d4a-4e6b-9c3f-0a1b2c3d4e5f/uptime"),
     ("get", "/api/v1/incidents"),
     ("get", "/api/v1/incidents/5b1f7c2e-8d4a-4e6b-9c3f-0a1b2c3d4e5f")],
)  # fmt: skip
def test_no_credentials_is_401(world, method, path):
    # Anonymous callers learn nothing about tenants: with X-Tenant-ID the tenant is 404
    # (apps.tenants.permissions); on the root host without it, 401.
    assert getattr(APIClient(), method)(path, HTTP_X_TENANT_ID="alpha").status_code == 404
    response = getattr(APIClient(), method)(path)
    assert response.status_code == 401
    assert response.json()["type"] == "/problems/not-authenticated"


@pytest.mark.parametrize(
    ("body", "field"),
    [({"name": "x", "kind": "http"}, "http"),
     ({"name": "x", "kind": "smtp", "http": {"url": "https://e.com"}}, "kind"),
     ({"name": "x", "kind": "http", "http": {"url": "ftp://e.com"}}, "url"),
     ({"name": "x", "kind": "http", "http": {"url": "https://e.com"}, "interval_s": 5},
      "interval_s"),
     ({"name": "x", "kind": "http", "http": {"url": "https://e.com", "expected_status": ["abc"]}},
      "expected_status"),
     ({"name": "x", "kind": "http", "http": {"url": "https://e.com", "json_path": "a"}},
      "json_value"),
     ({"name": "x", "kind": "tcp", "socket": {"host": "e.com"}}, "port"),
     ({"name": "x", "kind": "tcp", "socket": {"host": "e.com", "port": 1},
       "http": {"url": "https://e.com"}}, "http"),
     ({"name": "x", "kind": "heartbeat", "heartbeat": {"period_s": 5}}, "heartbeat.period_s"),
     ({"kind": "http", "http": {"url": "https://e.com"}}, "name")],
)  # fmt: skip
def test_malformed_input_is_a_400_problem(alice, body, field):
    response = alice.post("/api/v1/monitors", body, format="json")
    assert response.status_code == 400, response.json()
    problem = response.json()
    assert problem["type"] == "/problems/validation-error"
    assert field in {error["field"] for error in problem["errors"]}, problem


def test_unparsable_body_is_a_400_problem(alice):
    response = alice.post("/api/v1/monitors", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/malformed-request"


def test_viewers_read_members_write(client_for, world):
    viewer = world["outsider"]
    Membership.objects.create(tenant=world["tenant_a"], user=viewer, role="viewer")
    client = client_for(viewer, world["tenant_a"])
    assert client.get("/api/v1/monitors").status_code == 200
    response = client.post("/api/v1/monitors", HTTP, format="json")
    assert response.status_code == 403
    assert response.json()["type"] == "/problems/permission-denied"
    Membership.objects.filter(user=viewer).update(role="member")
    assert client.post("/api/v1/monitors", HTTP, format="json").status_code == 201


def test_quota_from_the_tenant_limit(alice, world):
    # A copy: the session's `world` tenant object must keep its (empty) overrides.
    Tenant.objects.filter(pk=world["tenant_a"].pk).update(entitlement_overrides={"monitors": 1})
    assert alice.post("/api/v1/monitors", HTTP, format="json").status_code == 201
    response = alice.post("/api/v1/monitors", HTTP, format="json")
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/quota-exceeded"
