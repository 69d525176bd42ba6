"""Silences: alerts of a silenced monitor (or of all monitors) are logged as skipped="silenced"
and not sent, but unlike maintenance the time still counts for uptime; deleting a silence ends
it now and alerts flow again."""

import datetime as dt

import pytest
from django.utils import timezone

from apps.monitoring import selectors, services, tasks
from apps.monitoring.checks import Outcome
from apps.monitoring.models import AlertLog
from tests.monitoring.factories import create, in_tenant


@pytest.fixture
def alice(client_for, world):
    return client_for(world["alice"], world["tenant_a"])


@pytest.fixture
def routed(alice, world, http_target):
    """Monitor `api` of tenant alpha, routed to a webhook channel on the local receiver."""
    channel = alice.post(
        "/api/v1/alert-channels",
        {"name": "hook", "kind": "webhook", "config": {"url": http_target.url + "/hook"}},
        format="json",
    ).json()
    return create(world["tenant_a"], kind="http", name="api", url="http://127.0.0.1:9/",
                  channel_ids=[channel["id"]])  # fmt: skip


def _apply(tenant, monitor, ok: bool, when):
    with in_tenant(tenant):
        services.results_apply(tenant=tenant, items=[services.ResultItem(
            monitor.pk, Outcome(ok=ok, error="" if ok else "Status 500"), when)])  # fmt: skip


def test_silence_skips_alerts_but_not_uptime(alice, world, routed, http_target):
    tenant = world["tenant_a"]
    created = alice.post(
        "/api/v1/silences",
        {"monitor_id": str(routed.pk), "duration_s": 3600, "reason": "provider outage"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["status"] == "active" and body["monitor"] == {"id": str(routed.pk), "name": "api"}
    assert body["reason"] == "provider outage"

    start = timezone.now()
    _apply(tenant, routed, True, start)
    _apply(tenant, routed, False, start + dt.timedelta(seconds=60))  # down: silenced
    _apply(tenant, routed, False, start + dt.timedelta(seconds=120))
    with in_tenant(tenant):
        log = AlertLog.objects.get(monitor=routed, event="monitor.down")
        assert log.skipped == "silenced" and not log.ok
        assert tasks.alerts_send([log.pk]) == 0
        assert routed.incidents.count() == 1  # the incident is recorded all the same
        windows = selectors.uptime_summary(monitor=routed, now=start + dt.timedelta(seconds=120))
    assert "posts" not in http_target.state
    # Silenced time is down time (maintenance would have left it out).
    assert windows["24h"]["down_s"] == pytest.approx(60, abs=1)
    assert windows["24h"]["maintenance_s"] == 0
    assert windows["24h"]["up_s"] == pytest.approx(60, abs=1)


def test_deleting_a_silence_ends_it_and_alerts_flow_again(alice, world, routed, http_target):
    tenant = world["tenant_a"]
    silence = alice.post("/api/v1/silences", {"duration_s": 3600}, format="json").json()
    assert silence["monitor"] is None  # every monitor
    now = timezone.now()
    _apply(tenant, routed, False, now)
    assert alice.delete(f"/api/v1/silences/{silence['id']}").status_code == 204
    expired = alice.get(f"/api/v1/silences/{silence['id']}").json()
    assert expired["status"] == "expired"
    assert [s["id"] for s in alice.get("/api/v1/silences?status=expired").json()["results"]] == [
        silence["id"]
    ]
    assert alice.get("/api/v1/silences?status=active").json()["results"] == []
    later = timezone.now() + dt.timedelta(seconds=1)
    _apply(tenant, routed, True, later)  # up: not silenced any more
    logs = {
        log["event"]: log for log in alice.get(f"/api/v1/alert-logs?monitor={routed.pk}").json()[
            "results"]
    }  # fmt: skip
    assert logs["monitor.down"]["skipped"] == "silenced"
    assert logs["monitor.up"]["skipped"] == ""


def test_silence_of_another_monitor_does_not_apply(alice, world, routed):
    tenant = world["tenant_a"]
    other = create(tenant, kind="http", name="other", url="http://127.0.0.1:9/")
    alice.post("/api/v1/silences", {"monitor_id": str(other.pk), "duration_s": 600},
               format="json")  # fmt: skip
    _apply(tenant, routed, False, timezone.now())
    with in_tenant(tenant):
        assert AlertLog.objects.get(monitor=routed).skipped == ""


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "ends_at"),
        ({"ends_at": "2020-01-01T00:00:00Z"}, "ends_at"),
        ({"duration_s": 600, "ends_at": "2030-01-01T00:00:00Z"}, "ends_at"),
        ({"duration_s": 10}, "duration_s"),
        ({"duration_s": 600, "monitor_id": "3c9d2f1e-7b6a-4c5d-8e9f-0a1b2c3d4e5f"}, "monitor_id"),
    ],
)
def test_silence_input_is_validated(alice, body, field):
    response = alice.post("/api/v1/silences", body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["errors"][0]["field"] == field


def test_a_silence_past_the_year_9999_is_a_400(client_for, world):
    client = client_for(world["alice"], world["tenant_a"])
    response = client.post(
        "/api/v1/silences",
        {"starts_at": "9999-12-31T23:59:00Z", "duration_s": 3600},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "duration_s"
