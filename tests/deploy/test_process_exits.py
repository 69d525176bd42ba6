"""Processes that end without being asked to (OOM kills, crashes): the sampler records each once
from what the runtime reports, emits `app.process_crashed`, and the API, the app's status and
the consoles show them. The runtime is a scripted RuntimeProvider (scripted_runtime.py); the
database, cache and outbox are real."""

import time

import pytest
from django.core.cache import cache
from django_tenants.utils import tenant_context

from apps.core.models import OutboxEvent
from apps.deploy import usage_history
from apps.deploy.models import ProcessEvent
from apps.deploy.tasks import runtime_sample
from tests.assertions import counted_get

from .factories import deployed_app
from .scripted_runtime import scripted

pytestmark = pytest.mark.django_db


@pytest.fixture
def runtime(settings, monkeypatch):
    provider = scripted(settings, monkeypatch)
    yield provider
    cache.delete(usage_history.cursor_key(provider))


@pytest.fixture
def shop(world):
    return deployed_app(world["tenant_a"], world["alice"])


def _key(objs) -> str:
    return objs["deployment"].pk.hex[:12]


def _events(tenant):
    with tenant_context(tenant):
        return list(ProcessEvent.objects.order_by("at"))


def test_an_oom_kill_is_recorded_once_with_its_deployment_and_an_event(world, runtime, shop):
    at = time.time() - 30
    runtime.exit(shop["app"], _key(shop), at=at, reason="oom_killed", signal=9)
    runtime.exit(shop["app"], _key(shop), "worker", 0, at=at + 1, reason="crashed",
                 exit_code=3, signal=None)  # fmt: skip
    report = usage_history.sample_runtime(provider=runtime)
    assert (report.exits_read, report.exits_recorded, report.cursor_moved) == (2, 2, True)
    recorded = _events(world["tenant_a"])
    assert [(e.process_type, e.reason, e.exit_code, e.signal) for e in recorded] == [
        ("web", "oom_killed", None, 9),
        ("worker", "crashed", 3, None),
    ]
    assert recorded[0].deployment_id == shop["deployment"].pk
    assert abs(recorded[0].at.timestamp() - at) < 0.001
    sent = list(OutboxEvent.objects.filter(type="app.process_crashed").order_by("id"))
    assert [e.data["reason"] for e in sent] == ["oom_killed", "crashed"]
    assert sent[0].tenant_id == world["tenant_a"].pk
    assert sent[0].data["type"] == "web" and sent[0].data["index"] == 0
    assert sent[0].data["signal"] == 9 and sent[0].data["exit_code"] is None
    assert sent[0].data["deployment_id"] == str(shop["deployment"].pk)
    assert sent[0].data["app"]["name"] == "shop" and sent[0].data["at"].endswith("Z")

    # Next pass: the cursor was kept (the cache), nothing is read or recorded again.
    again = usage_history.sample_runtime(provider=runtime)
    assert runtime.cursors_seen == ["", "2"]
    assert (again.exits_read, again.exits_recorded) == (0, 0)
    # A runtime that answers everything again (a lost cursor): still nothing twice.
    runtime.forgetful = True
    third = usage_history.sample_runtime(provider=runtime)
    assert (third.exits_read, third.exits_recorded, third.errors) == (2, 0, [])
    assert len(_events(world["tenant_a"])) == 2
    assert OutboxEvent.objects.filter(type="app.process_crashed").count() == 2


def test_exits_of_unknown_apps_are_ignored_and_tenants_kept_apart(world, runtime, shop):
    other = deployed_app(world["tenant_b"], world["bob"], name="other")
    runtime.exit(other["app"], _key(other), at=time.time())
    gone = deployed_app(world["tenant_a"], world["alice"], name="gone")
    runtime.exit(gone["app"], _key(gone), at=time.time())
    with tenant_context(world["tenant_a"]):
        gone["app"].delete()
    report = usage_history.sample_runtime(provider=runtime)
    assert (report.exits_recorded, report.unknown_apps) == (1, 1)
    assert _events(world["tenant_a"]) == []
    assert [e.app_id for e in _events(world["tenant_b"])] == [other["app"].pk]
    assert OutboxEvent.objects.get(type="app.process_crashed").tenant_id == world["tenant_b"].pk


def test_the_beat_task_uses_the_configured_runtime(world, runtime, shop):
    runtime.exit(shop["app"], _key(shop), at=time.time())
    assert runtime_sample()["exits_recorded"] == 1
    assert runtime_sample()["exits_recorded"] == 0


def test_processes_and_status_show_the_oom_kill(world, runtime, shop, client_for):
    key = _key(shop)
    runtime.running(shop["app"], key, "web", 0)
    runtime.running(shop["app"], key, "web", 1)
    now = time.time()
    runtime.exit(shop["app"], key, "web", 0, at=now - 7200, reason="crashed", exit_code=1,
                 signal=None)  # fmt: skip
    runtime.exit(shop["app"], key, "web", 0, at=now - 60, reason="oom_killed")
    runtime.exit(shop["app"], key, "web", 0, at=now - 90000, reason="oom_killed")  # > 24 h ago
    usage_history.sample_runtime(provider=runtime)
    alice = client_for(world["alice"], world["tenant_a"])
    queries, body = counted_get(alice, f"/api/v1/apps/{shop['app'].pk}/processes")
    web0, web1 = body["processes"]
    assert web0["last_exit"]["reason"] == "oom_killed" and web0["last_exit"]["signal"] == 9
    assert (web0["restarts_24h"], web0["oom_kills_24h"]) == (2, 1)
    assert (web1["last_exit"], web1["restarts_24h"], web1["oom_kills_24h"]) == (None, 0, 0)
    assert body["limits"]["memory_mb"] >= 32 and body["runtime_error"] == ""

    for i in range(2, 6):  # more processes and exits cost no more queries
        runtime.running(shop["app"], key, "web", i)
        runtime.exit(shop["app"], key, "web", i, at=now - i)
    usage_history.sample_runtime(provider=runtime)
    more, body = counted_get(alice, f"/api/v1/apps/{shop['app'].pk}/processes")
    assert len(body["processes"]) == 6 and more == queries

    status = alice.get(f"/api/v1/apps/{shop['app'].pk}/status").json()
    assert status["processes"][0]["oom_kills_24h"] == 1
    assert status["last_crash"]["type"] == "web" and status["last_crash"]["index"] == 2
    assert (status["crashes_24h"], status["oom_kills_24h"]) == (6, 5)


def test_a_process_crashed_webhook_may_be_subscribed_to(world, client_for):
    alice = client_for(world["alice"], world["tenant_a"])
    types = alice.get("/api/v1/webhook-event-types").json()
    rows = types["results"] if isinstance(types, dict) else types
    assert "app.process_crashed" in {row["type"] for row in rows}


def test_the_consoles_show_exits(world, runtime, shop, client):
    runtime.exit(shop["app"], _key(shop), at=time.time() - 5)
    usage_history.sample_runtime(provider=runtime)
    client.force_login(world["alice"])
    page = client.get(
        f"/console/deploy/app/{shop['app'].pk}/change/", HTTP_HOST="alpha.localhost"
    ).content.decode()
    assert "Process exits" in page and "OOM killed" in page
    assert "1 exit(s), 1 OOM kill(s)" in page


def test_operators_list_exits_of_the_tenant_they_pick(world, runtime, shop, client):
    runtime.exit(shop["app"], _key(shop), at=time.time() - 5)
    other = deployed_app(world["tenant_b"], world["bob"], name="other")
    runtime.exit(other["app"], _key(other), at=time.time() - 5, reason="crashed", signal=None,
                 exit_code=2)  # fmt: skip
    usage_history.sample_runtime(provider=runtime)
    world["operator"].is_superuser = True
    world["operator"].save()
    client.force_login(world["operator"])
    client.get("/admin/deploy/processevent/?tenant=alpha")
    page = client.get("/admin/deploy/processevent/").content.decode()
    assert "shop" in page and "web.0" in page and "oom_killed" in page
    assert "other" not in page
    client.force_login(world["bob"])
    console = client.get("/console/deploy/processevent/", HTTP_HOST="bravo.localhost")
    html = console.content.decode()
    assert console.status_code == 200 and "other" in html and "crashed" in html
    assert "shop" not in html
