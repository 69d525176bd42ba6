"""Render time of a status page with 100 monitors and 90 days of hourly rollups (216,000 rows),
uncached and cached. Opt-in (it writes a few hundred thousand rows):
QS_STATUS_PAGE_TIMING=1 pytest tests/monitoring/test_status_page_timing.py -s"""

import datetime as dt
import os
import statistics
import time

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from apps.core import heartbeat
from apps.monitoring import selectors
from apps.monitoring.models import Monitor, MonitorStatus, UptimeRollup
from tests.monitoring.factories import in_tenant, make_page

pytestmark = pytest.mark.skipif(
    not os.environ.get("QS_STATUS_PAGE_TIMING"), reason="set QS_STATUS_PAGE_TIMING=1 to measure"
)


def _ms(samples):
    return f"p50 {statistics.median(samples) * 1000:.1f} ms, max {max(samples) * 1000:.1f} ms"


def test_render_time_100_monitors(client, world):
    tenant = world["tenant_a"]
    hour0 = timezone.now().replace(minute=0, second=0, microsecond=0)
    with in_tenant(tenant):
        monitors = Monitor.objects.bulk_create(
            Monitor(name=f"service {i}", kind="http", url=f"https://e{i}.example/",
                    status=MonitorStatus.UP)
            for i in range(100)
        )  # fmt: skip
        for monitor in monitors:
            UptimeRollup.objects.bulk_create(
                UptimeRollup(monitor_id=monitor.pk, hour=hour0 - dt.timedelta(hours=h),
                             up_s=3590.0 if h % 97 else 3000.0, down_s=10.0 if h % 97 else 600.0)
                for h in range(90 * 24)
            )  # fmt: skip
    make_page(tenant, monitors, slug="timing")
    report = {}
    keys = selectors.status_page_cache_keys("timing")
    for kind, path in (("html", "/status/timing/"), ("json", "/status/timing/json")):
        cold, warm, cached = [], [], []
        for _ in range(3):  # nothing cached: 90 days of rollups grouped
            _forget_history()
            cache.delete_many(keys)
            cold.append(_timed(client, path))
        for _ in range(5):  # the page not cached, the days before today are
            cache.delete_many(keys)
            warm.append(_timed(client, path))
        for _ in range(20):
            cached.append(_timed(client, path))
        size = len(client.get(path).content)
        report[kind] = (
            f"cold {_ms(cold)}; page uncached (history cached) {_ms(warm)}; "
            f"cached {_ms(cached)}; {size} bytes"
        )
        assert statistics.median(cached) < statistics.median(warm)
    _forget_history()
    cache.delete_many(keys)
    for kind, line in report.items():
        print(f"\nstatus page, 100 monitors, {kind}: {line}")


def _timed(client, path) -> float:
    start = time.perf_counter()
    assert client.get(path).status_code == 200
    return time.perf_counter() - start


def _forget_history():
    client = heartbeat.redis_client()
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    for key in client.scan_iter(match=f"*{prefix}*monitoring:status-page:history:*"):
        client.delete(key)
