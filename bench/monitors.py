"""Uptime checks at scale: the real scheduler in real Celery workers, plus API latency.

    .venv/bin/python bench/monitors.py [--monitors N] [--interval S] [--seconds T] [--workers W]

In a scratch database: one tenant with N HTTP monitors (interval S, due times spread over the
first interval) aimed at a local HTTP target (aiohttp, its own process, 127.0.0.1). Starts a
Celery worker (W processes) and gunicorn (2 workers), sends one `monitoring.run_due` per worker
process, and after a warm-up counts the checks written during T seconds. Meanwhile it times
GET /api/v1/monitors (one page of 50) and POST /api/v1/monitors. Ends with
    BENCH monitors monitors=N checks_per_min=… list_p50_ms=… create_p50_ms=…
(checks/min cannot exceed N x 60 / S: that is the schedule; lag_p95 says whether it keeps up.)
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import subprocess
import sys
import threading
import time
import uuid

import httpx
from _support import ROOT, free_port, median, percentile, scratch_database, services, web_server

TARGET = """
from aiohttp import web
async def ok(request):
    return web.Response(text="ok: all systems go")
app = web.Application()
app.router.add_get("/health", ok)
web.run_app(app, host="127.0.0.1", port={port}, print=None, access_log=None)
"""


def prepare(monitors: int, interval: int, target: str):
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from apps.accounts.services import api_key_create
    from apps.monitoring.models import Monitor
    from apps.monitoring.schedule.models import CheckSchedule
    from apps.tenants.services import tenant_create

    call_command("release", verbosity=0, stdout=io.StringIO())
    user = get_user_model().objects.create_user(username="b@example.com", email="b@example.com")
    tenant = tenant_create(name="Bench", slug="bench", owner=user)
    _, raw_key = api_key_create(tenant=tenant, name="bench", authority="member")
    now = timezone.now() + dt.timedelta(seconds=5)
    rows = [
        Monitor(id=uuid.uuid4(), name=f"m{i}", kind="http", url=f"{target}/health?m={i}",
                interval_s=interval, timeout_s=10, keyword="systems go",
                accounted_at=None)
        for i in range(monitors)
    ]  # fmt: skip
    with schema_context(tenant.schema_name):
        Monitor.objects.bulk_create(rows, batch_size=2000)
    CheckSchedule.objects.bulk_create(
        [
            CheckSchedule(tenant_id=tenant.pk, monitor_id=m.pk, kind="http", interval_s=interval,
                          next_run_at=now + dt.timedelta(seconds=interval * i / monitors))
            for i, m in enumerate(rows)
        ],
        batch_size=2000,
    )  # fmt: skip
    return tenant, raw_key


def count_results(tenant, since, until) -> tuple[int, list[int]]:
    from django_tenants.utils import schema_context

    from apps.monitoring.models import CheckResult

    with schema_context(tenant.schema_name):
        window = CheckResult.objects.filter(checked_at__gte=since, checked_at__lt=until)
        lags = list(window.values_list("lag_ms", flat=True))
        failures = window.filter(ok=False).count()
    return failures, lags


def time_api(base: str, raw_key: str, target: str, stop: threading.Event, out: dict) -> None:
    headers = {"Authorization": f"Bearer {raw_key}", "X-Tenant-ID": "bench"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        client.get("/api/v1/monitors").raise_for_status()
        i = 0
        while not stop.is_set():
            started = time.perf_counter()
            client.get("/api/v1/monitors").raise_for_status()
            out["list"].append((time.perf_counter() - started) * 1000)
            body = {"name": f"api-{i}", "kind": "http", "interval_s": 3600,
                    "http": {"url": f"{target}/health"}}  # fmt: skip
            started = time.perf_counter()
            client.post("/api/v1/monitors", json=body).raise_for_status()
            out["create"].append((time.perf_counter() - started) * 1000)
            i += 1
            stop.wait(0.2)


def run(monitors: int, interval: int, seconds: int, workers: int) -> str:
    from django.utils import timezone

    port = free_port()
    target = subprocess.Popen([sys.executable, "-c", TARGET.format(port=port)])
    queue = f"bench-monitors-{os.getpid()}"
    worker = None
    try:
        for _ in range(50):
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        tenant, raw_key = prepare(monitors, interval, f"http://127.0.0.1:{port}")
        warmup = 8
        budget = warmup + seconds + 2
        production = {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": "bench-" + os.urandom(16).hex(),
            "SECURE_SSL_REDIRECT": "false",
        }
        env = {**os.environ, **production, "MONITORING_RUN_BUDGET_S": str(budget)}
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue,
             "-c", str(workers), "--without-mingle", "--without-gossip", "-l", "warning",
             "-n", f"{queue}@%h"],
            cwd=ROOT, env=env,
        )  # fmt: skip
        server_env = {
            **production,
            "THROTTLE_READ_RATE": "1000000/min",
            "THROTTLE_WRITE_RATE": "1000000/min",
        }
        with web_server(workers=2, env=server_env) as base:
            from apps.monitoring.tasks import run_due

            for _ in range(workers):
                run_due.apply_async(kwargs={"budget_s": budget}, queue=queue)
            time.sleep(warmup)
            api = {"list": [], "create": []}
            stop = threading.Event()
            timer = threading.Thread(
                target=time_api, args=(base, raw_key, f"http://127.0.0.1:{port}", stop, api)
            )
            timer.start()
            since = timezone.now()
            time.sleep(seconds)
            until = timezone.now()
            stop.set()
            timer.join()
            time.sleep(1.5)  # let the last flush land
        failures, lags = count_results(tenant, since, until)
    finally:
        for process in (worker, target):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=budget if process is worker else 5)
                except subprocess.TimeoutExpired:
                    process.kill()
    checks = len(lags)
    per_min = checks * 60 / (until - since).total_seconds()
    lag_p95 = percentile([lag / 1000 for lag in lags], 95) if lags else float("nan")
    print(f"checks in {seconds} s: {checks} ({failures} failed); schedule allows "
          f"{monitors * 60 // interval}/min; lag p50 {median(lags) / 1000 if lags else 0:.2f} s, "
          f"p95 {lag_p95:.2f} s")  # fmt: skip
    for name in ("list", "create"):
        values = api[name]
        print(f"{name:>7}: n={len(values)} p50 {median(values):.1f} ms, "
              f"p95 {percentile(values, 95):.1f} ms")  # fmt: skip
    return (
        f"BENCH monitors monitors={monitors} interval_s={interval} checks_per_min={per_min:.0f} "
        f"lag_p95_s={lag_p95:.2f} list_p50_ms={median(api['list']):.1f} "
        f"create_p50_ms={median(api['create']):.1f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--monitors", type=int, default=4000, help="HTTP monitors (4000)")
    parser.add_argument("--interval", type=int, default=20, help="their interval, s (20)")
    parser.add_argument("--seconds", type=int, default=20, help="measured window, s (20)")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes (2)")
    args = parser.parse_args()
    os.environ.setdefault("OUTBOUND_ALLOWED_NETWORKS", "127.0.0.0/8")
    os.environ.setdefault("MONITORING_RUNNERS", str(args.workers))
    with services(), scratch_database("config.settings.local"):
        line = run(args.monitors, args.interval, args.seconds, args.workers)
    print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
