"""/api/v1/alert-channels…, /alert-logs and /maintenance-windows…: CRUD, per-kind validation,
the webhook URL encrypted and never answered back, test notifications to a real receiver,
routing by channel_ids, maintenance windows silencing alerts, roles and tenant isolation."""

import datetime as dt
import json

import pytest
from django.db import connection
from django.utils import timezone

from apps.monitoring import selectors, services
from apps.monitoring.checks import Outcome
from apps.monitoring.models import AlertChannel, AlertLog
from apps.tenants.models import Membership, Role
from tests.monitoring.factories import create, in_tenant

SLACK_URL = "https://hooks.slack.com/services/T000/B000/sEcReTtOkEnXy9z"


@pytest.fixture
def alice(client_for, world):
    return client_for(world["alice"], world["tenant_a"])


@pytest.fixture
def viewer(client_for, world, django_user_model):
    user = django_user_model.objects.create_user(
        username="vera@example.com", email="vera@example.com", password="x"
    )
    Membership.objects.create(tenant=world["tenant_a"], user=user, role=Role.VIEWER)
    return client_for(user, world["tenant_a"])


def _slack(client, url=SLACK_URL, name="#ops"):
    response = client.post(
        "/api/v1/alert-channels",
        {"name": name, "kind": "slack", "config": {"url": url}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def _down(tenant, monitor, when=None):
    services.results_apply(tenant=tenant, items=[services.ResultItem(
        monitor.pk, Outcome(ok=False, error="Status 500"), when or timezone.now())])  # fmt: skip


def test_channel_crud_and_the_url_is_never_answered(alice, world):
    body = _slack(alice)
    assert body["config"] == {"url_masked": "https://hooks.slack.com/…Xy9z"}
    assert body["enabled"] is True
    channel_id = body["id"]
    listed = alice.get("/api/v1/alert-channels")
    shown = alice.get(f"/api/v1/alert-channels/{channel_id}")
    for response in (listed, shown):
        assert response.status_code == 200
        assert "sEcReTtOkEn" not in response.content.decode()
    with in_tenant(world["tenant_a"]):
        row = AlertChannel.objects.get(pk=channel_id)
        assert "sEcReTtOkEn" not in json.dumps(row.config) + row.secret_encrypted
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM monitoring_alertchannel WHERE id = %s", [channel_id])
            assert "sEcReTtOkEn" not in repr(cursor.fetchone())

    patched = alice.patch(
        f"/api/v1/alert-channels/{channel_id}",
        {"name": "#alerts", "enabled": False, "config": {"url": "https://chat.example.org/h/abcd"}},
        format="json",
    )
    assert patched.status_code == 200, patched.json()
    assert patched.json()["name"] == "#alerts" and patched.json()["enabled"] is False
    assert patched.json()["config"] == {"url_masked": "https://chat.example.org/…abcd"}

    email = alice.post(
        "/api/v1/alert-channels",
        {"name": "On-call", "kind": "email", "config": {"to": ["OnCall@Example.com"]}},
        format="json",
    )
    assert email.status_code == 201 and email.json()["config"] == {"to": ["oncall@example.com"]}
    kinds = alice.get("/api/v1/alert-channels?kind=email").json()["results"]
    assert [c["name"] for c in kinds] == ["On-call"]

    assert alice.delete(f"/api/v1/alert-channels/{channel_id}").status_code == 204
    assert alice.get(f"/api/v1/alert-channels/{channel_id}").status_code == 404


@pytest.mark.parametrize(
    "kind, config, field",
    [
        ("email", {"to": []}, "config.to"),
        ("email", {"to": ["not-an-address"]}, "config.to.0"),
        ("email", {"to": [f"u{i}@example.com" for i in range(11)]}, "config.to"),
        ("email", {"url": "https://example.com/x"}, "config.url"),
        ("webhook", {"url": "ftp://example.com/x"}, "config.url"),
        ("webhook", {"url": "https://"}, "config.url"),
        ("webhook", {}, "config.url"),
        ("slack", {"url": "http://10.1.2.3/hook"}, "config.url"),
        ("slack", {"url": "http://169.254.169.254/latest"}, "config.url"),
        ("webhook", {"url": "https://example.com/x", "secret": "y"}, "config.secret"),
    ],
)
def test_channel_config_is_validated_per_kind(alice, kind, config, field):
    response = alice.post(
        "/api/v1/alert-channels", {"name": "x", "kind": kind, "config": config}, format="json"
    )
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["type"] == "/problems/validation-error"
    assert field in [error["field"] for error in body["errors"]], body


def test_test_notification_reaches_a_real_receiver_and_is_logged(alice, world, http_target):
    channel = _slack(alice, url=http_target.url + "/slack")
    response = alice.post(f"/api/v1/alert-channels/{channel['id']}/test")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["ok"] is True and body["error"] == "" and body["duration_ms"] is not None
    assert body["event"] == "alert.test" and body["channel"]["id"] == channel["id"]
    path, payload = http_target.state["posts"][-1]
    assert path == "/slack" and json.loads(payload)["text"].startswith("*Quayside test")

    http_target.state["post_status"] = 500
    failed = alice.post(f"/api/v1/alert-channels/{channel['id']}/test").json()
    assert failed["ok"] is False and failed["error"] == "HTTP 500"
    logs = alice.get(f"/api/v1/alert-logs?channel={channel['id']}&ok=false").json()["results"]
    assert [log["id"] for log in logs] == [failed["id"]]
    assert len(alice.get("/api/v1/alert-logs?event=alert.test").json()["results"]) == 2


def test_test_notification_to_a_closed_port_fails_with_an_error(alice):
    channel = alice.post(
        "/api/v1/alert-channels",
        {"name": "gone", "kind": "webhook", "config": {"url": "http://127.0.0.1:9/hook"}},
        format="json",
    ).json()
    body = alice.post(f"/api/v1/alert-channels/{channel['id']}/test").json()
    assert body["ok"] is False and "ConnectError" in body["error"]


def test_routing_a_down_alerts_only_the_monitors_channels(alice, world, http_target):
    tenant = world["tenant_a"]
    routed = _slack(alice, url=http_target.url + "/routed", name="routed")
    _slack(alice, url=http_target.url + "/other", name="other")
    created = alice.post(
        "/api/v1/monitors",
        {"name": "api", "kind": "http", "http": {"url": "http://127.0.0.1:9/"},
         "channel_ids": [routed["id"]]},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    assert created.json()["channel_ids"] == [routed["id"]]
    with in_tenant(tenant):
        monitor = selectors.monitor_get(created.json()["id"])
        _down(tenant, monitor)
        logs = list(AlertLog.objects.filter(monitor=monitor))
        assert [str(log.channel_id) for log in logs] == [routed["id"]]
    logs = alice.get(f"/api/v1/alert-logs?monitor={monitor.pk}").json()["results"]
    assert logs[0]["event"] == "monitor.down" and logs[0]["skipped"] == ""
    assert logs[0]["monitor"] == {"id": str(monitor.pk), "name": "api"}


def test_monitor_channel_ids_are_checked_and_updated(alice, world, client_for):
    bravo_channel = _slack(client_for(world["bob"], world["tenant_b"]))
    monitor_id = alice.post(
        "/api/v1/monitors",
        {"name": "api", "kind": "http", "http": {"url": "https://example.com/"}},
        format="json",
    ).json()["id"]
    for bad in ([bravo_channel["id"]], ["not-a-uuid"]):
        response = alice.patch(f"/api/v1/monitors/{monitor_id}", {"channel_ids": bad},
                               format="json")  # fmt: skip
        assert response.status_code == 400, response.json()
        assert response.json()["errors"][0]["field"].startswith("channel_ids")
    own = _slack(alice)
    patched = alice.patch(f"/api/v1/monitors/{monitor_id}", {"channel_ids": [own["id"]]},
                          format="json")  # fmt: skip
    assert patched.status_code == 200 and patched.json()["channel_ids"] == [own["id"]]
    listed = alice.get("/api/v1/monitors").json()["results"]
    assert listed[0]["channel_ids"] == [own["id"]]
    cleared = alice.patch(f"/api/v1/monitors/{monitor_id}", {"channel_ids": []}, format="json")
    assert cleared.json()["channel_ids"] == []


def test_monitor_list_stays_constant_with_channels(alice, world, django_assert_max_num_queries):
    channels = [_slack(alice, name=f"c{i}")["id"] for i in range(3)]
    for i in range(5):
        alice.post(
            "/api/v1/monitors",
            {"name": f"m{i}", "kind": "http", "http": {"url": "https://example.com/"},
             "channel_ids": channels},
            format="json",
        )  # fmt: skip
    with django_assert_max_num_queries(12) as few:
        alice.get("/api/v1/monitors?page_size=2")
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = alice.get("/api/v1/monitors?page_size=5").json()
    assert all(len(m["channel_ids"]) == 3 for m in body["results"])


def test_maintenance_window_crud_status_and_effect_on_alerts(alice, world, http_target):
    tenant = world["tenant_a"]
    channel = _slack(alice, url=http_target.url + "/hook")
    monitor = create(tenant, kind="http", name="db", url="http://127.0.0.1:9/",
                     channel_ids=[channel["id"]])  # fmt: skip
    now = timezone.now()
    later = alice.post(
        "/api/v1/maintenance-windows",
        {"name": "tomorrow", "starts_at": (now + dt.timedelta(days=1)).isoformat(),
         "ends_at": (now + dt.timedelta(days=1, hours=1)).isoformat()},
        format="json",
    )  # fmt: skip
    assert later.status_code == 201, later.json()
    assert later.json()["status"] == "scheduled" and later.json()["monitor_ids"] == []
    bad = alice.post(
        "/api/v1/maintenance-windows",
        {"name": "backwards", "starts_at": now.isoformat(),
         "ends_at": (now - dt.timedelta(hours=1)).isoformat()},
        format="json",
    )  # fmt: skip
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "ends_at"
    unknown = alice.post(
        "/api/v1/maintenance-windows",
        {"name": "x", "starts_at": now.isoformat(), "ends_at": (now + dt.timedelta(hours=1))
         .isoformat(), "monitor_ids": [channel["id"]]},
        format="json",
    )  # fmt: skip
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "monitor_ids"

    active = alice.post(
        "/api/v1/maintenance-windows",
        {"name": "now", "starts_at": (now - dt.timedelta(minutes=5)).isoformat(),
         "ends_at": (now + dt.timedelta(minutes=30)).isoformat(),
         "monitor_ids": [str(monitor.pk)]},
        format="json",
    ).json()  # fmt: skip
    assert active["status"] == "active" and active["monitor_ids"] == [str(monitor.pk)]
    listed = alice.get("/api/v1/maintenance-windows?status=active").json()["results"]
    assert [w["name"] for w in listed] == ["now"]
    upcoming = alice.get("/api/v1/maintenance-windows?status=upcoming").json()["results"]
    assert [w["name"] for w in upcoming] == ["tomorrow"]

    with in_tenant(tenant):
        _down(tenant, monitor, now)
    log = alice.get(f"/api/v1/alert-logs?monitor={monitor.pk}").json()["results"][0]
    assert log["skipped"] == "maintenance" and "posts" not in http_target.state

    ended = alice.patch(
        f"/api/v1/maintenance-windows/{active['id']}",
        {"ends_at": (now - dt.timedelta(minutes=1)).isoformat()},
        format="json",
    )
    assert ended.status_code == 200 and ended.json()["status"] == "completed"
    assert alice.delete(f"/api/v1/maintenance-windows/{active['id']}").status_code == 204
    assert alice.get(f"/api/v1/maintenance-windows/{active['id']}").status_code == 404


def _objects(alice, world):
    """One of each object in tenant alpha, made by its owner."""
    now = timezone.now()
    channel = _slack(alice)
    window = alice.post(
        "/api/v1/maintenance-windows",
        {"name": "w", "starts_at": now.isoformat(),
         "ends_at": (now + dt.timedelta(hours=1)).isoformat()},
        format="json",
    ).json()  # fmt: skip
    silence = alice.post("/api/v1/silences", {"duration_s": 600}, format="json").json()
    return {"channel": channel["id"], "window": window["id"], "silence": silence["id"]}


ENDPOINTS = [
    # (method, path, body, write?)
    ("get", "/api/v1/alert-channels", None, False),
    ("get", "/api/v1/alert-channels/{channel}", None, False),
    ("post", "/api/v1/alert-channels",
     {"name": "n", "kind": "email", "config": {"to": ["a@example.com"]}}, True),
    ("patch", "/api/v1/alert-channels/{channel}", {"name": "renamed"}, True),
    ("post", "/api/v1/alert-channels/{channel}/test", None, True),
    ("delete", "/api/v1/alert-channels/{channel}", None, True),
    ("get", "/api/v1/alert-logs", None, False),
    ("get", "/api/v1/maintenance-windows", None, False),
    ("get", "/api/v1/maintenance-windows/{window}", None, False),
    ("post", "/api/v1/maintenance-windows",
     {"name": "n", "starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-01-01T01:00:00Z"}, True),
    ("patch", "/api/v1/maintenance-windows/{window}", {"name": "renamed"}, True),
    ("delete", "/api/v1/maintenance-windows/{window}", None, True),
    ("get", "/api/v1/silences", None, False),
    ("get", "/api/v1/silences/{silence}", None, False),
    ("post", "/api/v1/silences", {"duration_s": 600}, True),
    ("delete", "/api/v1/silences/{silence}", None, True),
]  # fmt: skip


@pytest.mark.parametrize("method, path, body, write", ENDPOINTS)
def test_viewers_read_only(alice, viewer, world, http_target, method, path, body, write):
    ids = _objects(alice, world)
    response = getattr(viewer, method)(path.format(**ids), body, format="json")
    if write:
        assert response.status_code == 403, (path, response.content)
        assert response.json()["type"] == "/problems/permission-denied"
    else:
        assert response.status_code == 200, (path, response.content)


@pytest.mark.parametrize("method, path, body, write", [e for e in ENDPOINTS if "{" in e[1]])
def test_another_tenants_objects_are_404(alice, client_for, world, method, path, body, write):
    ids = _objects(alice, world)
    bob = client_for(world["bob"], world["tenant_b"])
    response = getattr(bob, method)(path.format(**ids), body, format="json")
    assert response.status_code == 404, (path, response.content)
    assert response.json()["type"] == "/problems/not-found"
    malformed = getattr(alice, method)(path.format(**dict.fromkeys(ids, "nope")), body,
                                       format="json")  # fmt: skip
    assert malformed.status_code == 404


def test_lists_do_not_show_another_tenants_rows(alice, client_for, world):
    _objects(alice, world)
    alice.post(f"/api/v1/alert-channels/{_slack(alice)['id']}/test")
    bob = client_for(world["bob"], world["tenant_b"])
    for path in ("alert-channels", "alert-logs", "maintenance-windows", "silences"):
        response = bob.get(f"/api/v1/{path}")
        assert response.status_code == 200 and response.json()["results"] == [], path


def test_alert_log_and_silence_lists_cost_the_same_whatever_their_length(
    alice, world, http_target, django_assert_max_num_queries
):
    channels = [_slack(alice, url=http_target.url + "/hook", name=f"c{i}")["id"] for i in range(2)]
    monitor = create(world["tenant_a"], kind="http", name="m", url="http://127.0.0.1:9/",
                     channel_ids=channels)  # fmt: skip
    for _ in range(2):
        alice.post(f"/api/v1/alert-channels/{channels[0]}/test")
        alice.post("/api/v1/silences", {"monitor_id": str(monitor.pk), "duration_s": 600},
                   format="json")  # fmt: skip
    with in_tenant(world["tenant_a"]):
        _down(world["tenant_a"], monitor)
        for _ in range(2):
            services.maintenance_window_create(
                tenant=world["tenant_a"], actor=services.SYSTEM, name="w",
                starts_at=timezone.now(), ends_at=timezone.now() + dt.timedelta(hours=1),
                monitor_ids=[monitor.pk],
            )  # fmt: skip
    for path in ("alert-logs", "silences", "maintenance-windows", "alert-channels"):
        with django_assert_max_num_queries(12) as one:
            alice.get(f"/api/v1/{path}?page_size=1")
        with django_assert_max_num_queries(len(one.captured_queries)):
            alice.get(f"/api/v1/{path}?page_size=5")


def test_the_migration_encrypts_urls_already_stored(world):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("apps.monitoring.migrations.0003_alerting")
    with in_tenant(world["tenant_a"]):
        row = AlertChannel.objects.create(
            name="old", kind="slack", config={"url": "https://hooks.slack.com/services/T/B/oldXy9z"}
        )
        AlertChannel.objects.create(name="mail", kind="email", config={"to": ["a@example.com"]})
        migration._encrypt_urls(apps, None)
        row.refresh_from_db()
        assert row.config == {"url_masked": "https://hooks.slack.com/…Xy9z"}
        from apps.monitoring.alerts import channel_url

        assert channel_url(row) == "https://hooks.slack.com/services/T/B/oldXy9z"
        assert AlertChannel.objects.get(name="mail").config == {"to": ["a@example.com"]}
