"""Per-process CPU and memory, sampled every minute from the runtime (a scripted RuntimeProvider,
scripted_runtime.py), kept 24 hours, served by GET /apps/{id}/metrics and drawn on the app's
console page."""

import datetime as dt
import time

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.deploy import usage_charts, usage_history
from apps.deploy.models import ProcessEvent, ProcessSample
from apps.deploy.tasks import deployment_logs_purge
from tests.assertions import assert_problem, counted_get

from .factories import deployed_app
from .scripted_runtime import scripted

pytestmark = pytest.mark.django_db

MB = 1024 * 1024
CORE_S = 1_000_000_000  # one core busy for one second, in CPU nanoseconds


@pytest.fixture
def runtime(settings, monkeypatch):
    provider = scripted(settings, monkeypatch)
    yield provider
    cache.delete(usage_history.cursor_key(provider))


@pytest.fixture
def shop(world):
    return deployed_app(world["tenant_a"], world["alice"])


@pytest.fixture
def alice(world, client_for):
    return client_for(world["alice"], world["tenant_a"])


def _minute_ago(n: int) -> float:
    """A moment n minutes ago, 5 s into its minute (so the minute is unambiguous)."""
    now = timezone.now().replace(second=5, microsecond=0)
    return (now - dt.timedelta(minutes=n)).timestamp()


def _sample_minutes(runtime, app, key, minutes, *, process="web", index=0, cpu_per_min=0.25):
    """Sample at each of `minutes` (minutes ago, oldest first), the process using
    `cpu_per_min` of a core and 40 MB + 1 MB a minute."""
    for n, minute in enumerate(minutes):
        runtime.samples = []
        cpu_ns = int(n * 60 * CORE_S * cpu_per_min)
        runtime.sample(
            app, key, process, index, at=_minute_ago(minute), cpu_ns=cpu_ns,
            memory_bytes=(40 + n) * MB,
        )  # fmt: skip
        usage_history.sample_runtime(provider=runtime)


def test_samples_become_series_with_cpu_rates(world, runtime, shop, alice):
    key = shop["deployment"].pk.hex[:12]
    _sample_minutes(runtime, shop["app"], key, [3, 2, 1])
    # A second pass within the same minute adds nothing.
    runtime.sample(shop["app"], key, at=_minute_ago(1) + 20, cpu_ns=10**12, memory_bytes=MB)
    usage_history.sample_runtime(provider=runtime)
    body = alice.get(f"/api/v1/apps/{shop['app'].pk}/metrics?minutes=10").json()
    (series,) = body["processes"]
    assert (series["type"], series["index"], series["deployment_key"]) == ("web", 0, key)
    assert series["memory_limit_bytes"] == 256 * MB
    points = series["points"]
    assert [p["cpu_millicores"] for p in points] == [None, 250, 250]
    assert [p["memory_bytes"] for p in points] == [40 * MB, 41 * MB, 42 * MB]
    assert all(p["at"].endswith(":00.000000Z") for p in points)  # whole minutes
    assert body["resolution_s"] == 60 and body["exits"] == []
    assert body["limits"]["memory_mb"] >= 32 and body["limits"]["cpu_millicores"] >= 10


def test_a_restarted_process_counts_from_its_new_counter(world, runtime, shop, alice):
    key = shop["deployment"].pk.hex[:12]
    runtime.sample(shop["app"], key, at=_minute_ago(2), cpu_ns=50 * CORE_S, memory_bytes=MB)
    usage_history.sample_runtime(provider=runtime)
    runtime.samples = []
    runtime.sample(shop["app"], key, at=_minute_ago(1), cpu_ns=30 * CORE_S, memory_bytes=MB)
    usage_history.sample_runtime(provider=runtime)
    points = alice.get(f"/api/v1/apps/{shop['app'].pk}/metrics").json()["processes"][0]["points"]
    assert [p["cpu_millicores"] for p in points] == [None, 500]  # 30 s of CPU in 60 s


def test_samples_older_than_a_day_are_pruned_and_never_served(world, runtime, shop, alice):
    key = shop["deployment"].pk.hex[:12]
    with tenant_context(world["tenant_a"]):
        old = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(hours=25)
        ProcessSample.objects.create(
            app=shop["app"], deployment_key=key, process_type="web", index=0, at=old,
            sampled_at=old, cpu_ns=0, memory_bytes=MB,
        )  # fmt: skip
    since = (timezone.now() - dt.timedelta(hours=24)).isoformat().replace("+00:00", "Z")
    body = alice.get(f"/api/v1/apps/{shop['app'].pk}/metrics", {"since": since}).json()
    assert body["processes"] == []
    runtime.sample(shop["app"], key, at=time.time(), cpu_ns=0, memory_bytes=MB)
    report = usage_history.sample_runtime(provider=runtime)
    assert (report.samples_recorded, report.samples_pruned) == (1, 1)
    with tenant_context(world["tenant_a"]):
        assert list(ProcessSample.objects.values_list("at", flat=True)) == [
            dt.datetime.fromtimestamp(runtime.samples[0].at, tz=dt.UTC).replace(
                second=0, microsecond=0
            )
        ]


def test_the_hourly_purge_prunes_apps_the_sampler_no_longer_visits(world, runtime, shop):
    with tenant_context(world["tenant_a"]):
        old = timezone.now() - dt.timedelta(hours=30)
        ProcessSample.objects.create(
            app=shop["app"], deployment_key="k", process_type="web", index=0, at=old,
            sampled_at=old, cpu_ns=0, memory_bytes=MB,
        )  # fmt: skip
        for days in (31, 29):
            ProcessEvent.objects.create(
                app=shop["app"], deployment_key="k", process_type="web", index=0,
                reason="crashed", at=timezone.now() - dt.timedelta(days=days),
            )  # fmt: skip
    deployment_logs_purge()  # hourly; exits are kept as long as deployment logs (30 days)
    with tenant_context(world["tenant_a"]):
        assert ProcessSample.objects.count() == 0 and ProcessEvent.objects.count() == 1


def test_filters_by_process_and_costs_the_same_at_any_length(world, runtime, shop, alice):
    key = shop["deployment"].pk.hex[:12]
    _sample_minutes(runtime, shop["app"], key, [2, 1], process="worker")
    _sample_minutes(runtime, shop["app"], key, [2, 1], process="web", index=1)
    url = f"/api/v1/apps/{shop['app'].pk}/metrics"
    few, body = counted_get(alice, url)
    assert {(s["type"], s["index"]) for s in body["processes"]} == {("worker", 0), ("web", 1)}
    assert [s["type"] for s in alice.get(url, {"process": "web"}).json()["processes"]] == ["web"]
    assert alice.get(url, {"process": "web.0"}).json()["processes"] == []
    _sample_minutes(runtime, shop["app"], key, list(range(60, 0, -1)), process="clock")
    many, body = counted_get(alice, url + "?minutes=90")
    assert len(body["processes"]) == 3 and many == few


@pytest.mark.parametrize(
    "query, field",
    [
        ({"minutes": "0"}, "minutes"),
        ({"minutes": "1441"}, "minutes"),
        ({"minutes": "soon"}, "minutes"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2001-01-01T00:00:00Z"}, "since"),
        ({"since": "2999-01-01T00:00:00Z"}, "since"),
        ({"process": "Web!"}, "process"),
        ({"process": "web.x"}, "process"),
    ],
)
def test_bad_parameters_are_problems(world, shop, alice, query, field):
    assert_problem(alice.get(f"/api/v1/apps/{shop['app'].pk}/metrics", query), field)


def test_another_tenants_app_is_not_found(world, client_for):
    other = deployed_app(world["tenant_b"], world["bob"], name="other")
    alice = client_for(world["alice"], world["tenant_a"])
    for path in ("metrics", "processes"):
        response = alice.get(f"/api/v1/apps/{other['app'].pk}/{path}")
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"
    outsider = client_for(world["outsider"], world["tenant_a"])
    assert outsider.get(f"/api/v1/apps/{other['app'].pk}/metrics").status_code == 404


def test_the_app_page_draws_the_charts(world, runtime, shop, client):
    key = shop["deployment"].pk.hex[:12]
    _sample_minutes(runtime, shop["app"], key, [3, 2, 1])
    runtime.exit(shop["app"], key, at=_minute_ago(2))
    usage_history.sample_runtime(provider=runtime)
    client.force_login(world["alice"])
    url = f"/console/deploy/app/{shop['app'].pk}/change/"
    with CaptureQueriesContext(connection):
        page = client.get(url, HTTP_HOST="alpha.localhost").content.decode()
    # uPlot draws the data in the browser (static/console/charts.js); the SVG stays for no JS.
    assert page.count('class="qs-chart-plot"') == 2 and page.count("<noscript><svg") == 2
    assert page.count("<svg viewBox=") == 2  # memory and CPU
    assert "<polyline" in page and 'stroke="#dc2626"' in page  # a line, the OOM mark
    assert '<script id="usage-memory-plot-data" type="application/json">' in page
    with tenant_context(world["tenant_a"]):
        data = usage_charts.usage_data(shop["app"], tenant=world["tenant_a"])
    memory = data["memory"][1]
    assert data["processes"] == ["web.0"] and len(memory["x"]) == usage_charts.BUCKETS
    (web,) = memory["series"]
    assert web["label"] == "web.0" and max(v for v in web["values"] if v) == 42
    assert memory["limit"] == 256 and memory["unit"] == "MB"
    assert [m["label"] for m in memory["marks"]] == ["web.0 OOM killed"]
    assert data["cpu"][1]["marks"] == memory["marks"]
    assert "Memory (MB): peak 42 MB, limit 256 MB" in page
    assert "CPU (millicores): peak 250 millicores" in page
    assert "web.0" in page
    # The operator console shows the same page of the tenant's app.
    world["operator"].is_superuser = True
    world["operator"].save()
    client.force_login(world["operator"])
    client.get("/admin/deploy/app/?tenant=alpha")
    admin_page = client.get(f"/admin/deploy/app/{shop['app'].pk}/change/").content.decode()
    assert "Memory (MB): peak 42 MB" in admin_page and "Process exits" in admin_page
    assert "/static/vendor/uplot/uPlot.iife.min.js" in admin_page  # AppAdminBase.Media
    assert "/static/console/charts.js" in admin_page
