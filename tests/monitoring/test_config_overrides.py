"""Monitoring reads its platform config variables: the minimum interval when monitors are
created or changed, and the raw results' retention when it purges."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import timezone

from apps.core import platform_config
from apps.core.platform_config import config_set
from apps.core.problems import InvalidInput
from apps.monitoring import services
from apps.monitoring.models import CheckResult
from tests.monitoring.factories import create, in_tenant

pytestmark = pytest.mark.django_db

HTTP = {"name": "Website", "kind": "http", "interval_s": 30,
        "http": {"url": "https://example.com/health"}}  # fmt: skip


@pytest.fixture(autouse=True)
def _cold_config_cache():
    cache.delete(platform_config.CACHE_KEY)
    yield
    cache.delete(platform_config.CACHE_KEY)


def test_a_raised_minimum_interval_refuses_faster_monitors(
    client_for, world, django_capture_on_commit_callbacks
):
    alice = client_for(world["alice"], world["tenant_a"])
    assert alice.post("/api/v1/monitors", HTTP, format="json").status_code == 201
    operator = client_for(world["operator"])
    with django_capture_on_commit_callbacks(execute=True):
        response = operator.patch(
            "/api/v1/admin/config-variables/monitoring.min_interval_s", {"value": 45},
            format="json",
        )  # fmt: skip
    assert response.status_code == 200
    refused = alice.post("/api/v1/monitors", HTTP, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"][0] == {
        "field": "interval_s", "code": "invalid", "message": "interval_s must be at least 45.",
    }  # fmt: skip
    assert (
        alice.post("/api/v1/monitors", {**HTTP, "interval_s": 45}, format="json").status_code == 201
    )


def test_a_lowered_minimum_allows_faster_monitors(world, django_capture_on_commit_callbacks):
    with pytest.raises(InvalidInput):
        create(world["tenant_a"], name="Fast", kind="tcp", host="example.com", port=443,
               interval_s=10)  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        config_set(name="monitoring.min_interval_s", value=5)
    monitor = create(world["tenant_a"], name="Fast", kind="tcp", host="example.com", port=443,
                     interval_s=10)  # fmt: skip
    assert monitor.interval_s == 10


def test_purge_keeps_results_for_the_configured_days(world, django_capture_on_commit_callbacks):
    monitor = create(world["tenant_a"], name="Kept", kind="tcp", host="example.com", port=443)
    now = timezone.now()
    with in_tenant(world["tenant_a"]):
        for days in (1, 3, 5):
            CheckResult.objects.create(
                monitor=monitor, checked_at=now - dt.timedelta(days=days, minutes=1), ok=True,
                source="check",
            )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        config_set(name="monitoring.results_retention_days", value=2)
    with in_tenant(world["tenant_a"]):
        assert services.results_purge(now=now)["results"] == 2
        assert CheckResult.objects.filter(monitor=monitor).count() == 1
