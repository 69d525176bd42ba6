"""The operator dashboard's daily aggregates: each app's collector counts real rows (across
tenant schemas where they live there), the beat task upserts (idempotent) and purges after 400
days, the backfill command fills past days, and the dashboard draws them in constant queries,
for operators only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.billing import services as billing_services
from apps.billing.models import BillingAccount
from apps.core import daily_metrics_charts
from apps.core.daily_metrics import (
    daily_collectors,
    daily_metrics_collect,
    daily_metrics_refresh,
    daily_series,
    day_bounds,
)
from apps.core.models import DailyMetric
from apps.core.tasks import collect_daily_metrics
from apps.deploy.models import Deployment
from apps.monitoring.models import UptimeRollup
from apps.webhooks.models import WebhookMessage
from tests.deploy.factories import deployed_app
from tests.monitoring.factories import create as monitor_create
from tests.monitoring.factories import in_tenant
from tests.webhooks.webhook_support import endpoint_create

pytestmark = pytest.mark.django_db

SERIES = {"signups", "mrr", "deployments", "checks_per_minute", "failed_deliveries"}


def _today() -> dt.date:
    return timezone.now().astimezone(dt.UTC).date()


def _at(day: dt.date, hour: int) -> dt.datetime:
    return day_bounds(day)[0] + dt.timedelta(hours=hour)


def _values(day: dt.date) -> dict[tuple[str, str], float]:
    return {(m.name, m.dimension): m.value for m in DailyMetric.objects.filter(day=day)}


@pytest.fixture
def day() -> dt.date:
    """A past day nothing else in the session wrote rows on."""
    return _today() - dt.timedelta(days=10)


def test_every_domain_registers_its_collector():
    assert {c.name for c in daily_collectors()} == SERIES
    assert "core.collect_daily_metrics" in settings.CELERY_BEAT_SCHEDULE
    entry = settings.CELERY_BEAT_SCHEDULE["core.collect_daily_metrics"]
    assert entry["task"] == "core.collect_daily_metrics"


def test_collectors_count_real_rows_across_tenant_schemas(world, day, django_user_model):
    alpha, bravo = world["tenant_a"], world["tenant_b"]
    # Sign-ups: two that day, one the day after.
    for i, when in enumerate([_at(day, 1), _at(day, 23), _at(day + dt.timedelta(days=1), 0)]):
        user = django_user_model.objects.create_user(username=f"dm{i}", email=f"dm{i}@x.test")
        django_user_model.objects.filter(pk=user.pk).update(date_joined=when)
    # Deployments: one in each tenant's schema that day, one the day before.
    first = deployed_app(alpha, world["alice"], name="dm-a")["deployment"]
    second = deployed_app(bravo, world["bob"], name="dm-b")["deployment"]
    third = deployed_app(bravo, world["bob"], name="dm-c")["deployment"]
    with in_tenant(alpha):
        Deployment.objects.filter(pk=first.pk).update(created_at=_at(day, 2))
    with in_tenant(bravo):
        Deployment.objects.filter(pk=second.pk).update(created_at=_at(day, 12))
        Deployment.objects.filter(pk=third.pk).update(
            created_at=_at(day, 0) - dt.timedelta(seconds=1)
        )
    # Checks: 1,440 + 1,440 in the two tenants' hourly rollups = 2 a minute over the day.
    for tenant in (alpha, bravo):
        monitor = monitor_create(tenant, kind="http", name="dm", url="http://127.0.0.1:9/")
        with in_tenant(tenant):
            UptimeRollup.objects.create(monitor=monitor, hour=_at(day, 3), checks=720)
            UptimeRollup.objects.create(monitor=monitor, hour=_at(day, 4), checks=720)
            UptimeRollup.objects.create(
                monitor=monitor, hour=_at(day + dt.timedelta(days=1), 0), checks=999
            )
    # Failed deliveries: two failed that day (one created the day before), one succeeded.
    endpoint, _secret = endpoint_create(bravo, "https://hooks.example.com/dm")
    with in_tenant(bravo):
        for i, (status, created, last) in enumerate(
            [
                ("failed", _at(day, 5), _at(day, 6)),
                ("failed", _at(day, 0) - dt.timedelta(hours=2), _at(day, 1)),
                ("succeeded", _at(day, 5), _at(day, 5)),
            ]
        ):
            WebhookMessage.objects.create(
                msg_id=f"msg_dm{i}", endpoint=endpoint, event_type="monitor.down", body="{}",
                created_at=created, status=status, last_attempt_at=last,
            )  # fmt: skip
    # MRR: what the subscription webhooks write onto the accounts (the fake Stripe is not
    # needed to read them back): 29 USD monthly + 120 USD a year + a waived one (not counted).
    subscribed = [
        (alpha, "sub_dm_a", 2900, "month", False),
        (bravo, "sub_dm_b", 12000, "year", False),
    ]
    for tenant, sub, cents, interval, waived in subscribed:
        account = billing_services.billing_account_ensure(tenant=tenant)
        BillingAccount.objects.filter(pk=account.pk).update(
            stripe_subscription_id=sub, subscription_amount_cents=cents, interval=interval,
            subscription_currency="usd", status="active", billing_waived=waived,
            subscription_started_at=_at(day, 0) - dt.timedelta(days=40),
        )  # fmt: skip

    daily_metrics_collect(days=[day])

    values = _values(day)
    assert values[("signups", "")] == 2
    assert values[("deployments", "")] == 2
    assert values[("checks_per_minute", "")] == 2.0
    assert values[("failed_deliveries", "")] == 2
    assert values[("mrr", "usd")] == 39.0  # 29 + 120 / 12
    # A subscription started after that day is not in that day's MRR.
    BillingAccount.objects.filter(stripe_subscription_id="sub_dm_b").update(
        subscription_started_at=_at(day, 0) + dt.timedelta(days=2)
    )
    daily_metrics_collect(days=[day], names=["mrr"])
    assert _values(day)[("mrr", "usd")] == 29.0


def test_collecting_again_overwrites_and_leaves_no_duplicate(world, day, django_user_model):
    daily_metrics_collect(days=[day])
    before = DailyMetric.objects.filter(day=day).count()
    assert before >= len(SERIES)
    user = django_user_model.objects.create_user(username="dm-late", email="dm-late@x.test")
    django_user_model.objects.filter(pk=user.pk).update(date_joined=_at(day, 9))
    signups = _values(day)[("signups", "")]
    daily_metrics_collect(days=[day])
    daily_metrics_collect(days=[day])
    assert DailyMetric.objects.filter(day=day).count() == before
    assert _values(day)[("signups", "")] == signups + 1


def test_the_beat_task_writes_yesterday_and_today_and_purges_after_400_days(world):
    today = _today()
    old = DailyMetric.objects.create(day=today - dt.timedelta(days=401), name="signups", value=3)
    kept = DailyMetric.objects.create(day=today - dt.timedelta(days=399), name="signups", value=4)
    result = collect_daily_metrics()
    assert result["purged"] == 1
    assert not DailyMetric.objects.filter(pk=old.pk).exists()
    assert DailyMetric.objects.filter(pk=kept.pk).exists()
    days = set(DailyMetric.objects.filter(name="signups").values_list("day", flat=True))
    assert {today, today - dt.timedelta(days=1)} <= days
    assert set(DailyMetric.objects.filter(day=today).values_list("name", flat=True)) == SERIES
    # Twice in a row: the same rows.
    count = DailyMetric.objects.count()
    daily_metrics_refresh()
    assert DailyMetric.objects.count() == count


def test_backfill_command_fills_past_days(world, capsys):
    call_command("daily_metrics_backfill", "--days", "3")
    today = _today()
    for offset in range(3):
        names = set(
            DailyMetric.objects.filter(day=today - dt.timedelta(days=offset)).values_list(
                "name", flat=True
            )
        )
        assert {"signups", "deployments", "checks_per_minute", "failed_deliveries"} <= names
    assert "signups: 3 row(s)" in capsys.readouterr().out


def test_a_failing_collector_does_not_stop_the_others(world, day, monkeypatch):
    from apps.core import daily_metrics

    broken = daily_metrics._COLLECTORS["deployments"]
    monkeypatch.setitem(
        daily_metrics._COLLECTORS,
        "deployments",
        daily_metrics.DailyCollector("deployments", lambda day: 1 / 0, broken.title),
    )
    written = daily_metrics_collect(days=[day])
    assert "deployments" not in written and "signups" in written


# --- The dashboard ----------------------------------------------------------------------------


def _fill(days: int) -> None:
    today = _today()
    DailyMetric.objects.bulk_create(
        [
            DailyMetric(day=today - dt.timedelta(days=i), name=name, dimension=dim, value=i + 1)
            for i in range(days)
            for name, dim in [
                ("signups", ""),
                ("deployments", ""),
                ("checks_per_minute", ""),
                ("failed_deliveries", ""),
                ("mrr", "usd"),
                ("mrr", "eur"),
            ]
        ],
        ignore_conflicts=True,
    )


def _dashboard(client, path="/admin/"):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    real = [q for q in queries.captured_queries if not q["sql"].startswith("SET ")]
    return response, len(real)


def test_dashboard_charts_every_series_in_constant_queries(client, world):
    client.force_login(world["operator"])
    _fill(3)
    _, few = _dashboard(client, "/admin/?days=90")
    _fill(90)
    response, many = _dashboard(client, "/admin/?days=90")
    assert many == few
    html = response.content.decode()
    for name in SERIES:
        assert f'data-series="{name}"' in html, name
    assert 'data-series="mrr" data-dimension="eur" data-points="90"' in html
    # One chart per series (MRR split by currency), each naming its source.
    assert html.count('class="qs-chart qs-daily-chart"') == 6
    assert html.count("Source: daily aggregates</span>") == 6
    assert 'aria-current="page">90 days' in html
    # Each chart's data for uPlot (static/console/charts.js), the SVG kept for no JavaScript.
    assert html.count('class="qs-chart-plot"') == 6 and html.count("<noscript><svg") == 6
    assert '<script id="daily-mrr-eur-data" type="application/json">' in html
    assert html.count('src="/static/vendor/uplot/uPlot.iife.min.js"') == 1
    series = {s.name: s for s in daily_series(days=30) if s.dimension in ("", "usd")}
    assert series["signups"].values[-1] == 1 and series["signups"].total == sum(range(1, 31))
    spec = daily_metrics_charts.series_spec(series["signups"])
    assert spec["series"][0]["kind"] == "bars" and spec["x_kind"] == "day"
    assert spec["series"][0]["values"] == series["signups"].values
    assert len(spec["x"]) == 30 and spec["x"][1] - spec["x"][0] == 86400
    assert daily_metrics_charts.series_spec(series["mrr"])["series"][0]["kind"] == "line"


def test_dashboard_period_falls_back_to_30_days(client, world):
    client.force_login(world["operator"])
    response, _ = _dashboard(client, "/admin/?days=banana")
    assert response.context["dashboard"]["chart_days"] == 30
    response, _ = _dashboard(client, "/admin/?days=5000")
    assert response.context["dashboard"]["chart_days"] == 30


def test_a_tenant_member_cannot_see_the_operator_dashboard(client, world):
    client.force_login(world["alice"])
    response = client.get("/admin/?days=90")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert b"daily-charts" not in client.get(response["Location"]).content
