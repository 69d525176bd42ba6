"""Uptime checks at scale: the real scheduler in real Celery workers, plus API latency.

    .venv/bin/python bench/monitoring.py [--monitors N] [--interval S] [--seconds T]
        [--workers W] [--tenants K]

In a scratch database: one tenant (or K, monitors dealt round-robin) with N HTTP monitors
(interval S, due times spread over the first interval) aimed at a local HTTP target (aiohttp,
its own process, 127.0.0.1). Each tenant's first monitor is made by the service
(`monitor_create`); the others are bulk-inserted copies of it and of its schedule row (only name
and URL differ), so they are what the service makes, minus one audit event each. Starts a Celery
worker (W prefork processes, default: one per core) and gunicorn (2 workers), and plays beat:
every MONITORING_TICK_S it sends what `monitoring.tick` sends (MONITORING_RUNNERS
`monitoring.run_due`, default budget, so runners hand over inside the
window as they do in production). After a warm-up it counts the checks written during T seconds
and times GET /api/v1/monitors (one page) and POST /api/v1/monitors meanwhile. Ends with

    BENCH monitoring monitors=N interval_s=S checks_per_min=… lag_p95_s=… cpu_pct=…
        api_list_p95_ms=… api_create_p95_ms=…

checks/min cannot exceed N x 60 / S (that is the schedule; lag_p95_s says whether it keeps up).
cpu_pct is the CPU the Celery worker's process tree used over the window, in % of ONE core
(200 = both cores of this machine); the HTTP target, gunicorn and PostgreSQL are not in it (they
are printed on their own lines, with the machine's load)."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import os
import signal
import subprocess
import sys
import threading
import time

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
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def prepare(monitors: int, interval: int, target: str, tenants: int = 1):
    """K tenants (the first, `bench`, is the one whose API is timed); monitor i belongs to
    tenant i mod K and falls due at i/N of the first interval, so every claim spans tenants."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from apps.accounts.services import api_key_create
    from apps.monitoring.models import Monitor
    from apps.monitoring.schedule.models import CheckSchedule
    from apps.monitoring.services import Actor, monitor_create
    from apps.tenants.services import tenant_create

    call_command("release", verbosity=0, stdout=io.StringIO())
    user = get_user_model().objects.create_user(username="b@example.com", email="b@example.com")
    made = [tenant_create(name="Bench", slug="bench", owner=user)]
    made += [tenant_create(name=f"Bench {k}", slug=f"bench-{k}", owner=user)
             for k in range(1, tenants)]  # fmt: skip
    _, raw_key = api_key_create(tenant=made[0], name="bench", authority="member")
    started = time.perf_counter()
    start = timezone.now() + dt.timedelta(seconds=5)
    due = [start + dt.timedelta(seconds=interval * i / monitors) for i in range(monitors)]
    rows = []
    for k, tenant in enumerate(made):
        indexes = range(k, monitors, len(made))
        with schema_context(tenant.schema_name):
            first = monitor_create(
                tenant=tenant, actor=Actor(user=user), kind="http", name=f"m{k}",
                url=f"{target}/health?m={k}", interval_s=interval, timeout_s=10,
                keyword="systems go",
            )  # fmt: skip
            template = {
                f.attname: getattr(first, f.attname)
                for f in Monitor._meta.concrete_fields
                if not f.primary_key
            }
            copies = [Monitor(**{**template, "name": f"m{i}", "url": f"{target}/health?m={i}"})
                      for i in indexes[1:]]  # fmt: skip
            Monitor.objects.bulk_create(copies, batch_size=2000)
        row = CheckSchedule.objects.get(monitor_id=first.pk)
        shared = {
            f.attname: getattr(row, f.attname)
            for f in CheckSchedule._meta.concrete_fields
            if f.attname not in ("id", "monitor_id", "next_run_at")
        }
        CheckSchedule.objects.filter(pk=row.pk).update(next_run_at=due[k])
        rows += [CheckSchedule(**shared, monitor_id=m.pk, next_run_at=due[i])
                 for i, m in zip(indexes[1:], copies, strict=True)]  # fmt: skip
    CheckSchedule.objects.bulk_create(rows, batch_size=2000)
    print(f"{monitors} monitors in {len(made)} tenant(s) and their schedule rows written in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    return made, raw_key


def count_results(tenants, since, until) -> tuple[int, list[int]]:
    from django_tenants.utils import schema_context

    from apps.monitoring.models import CheckResult

    lags, failures = [], 0
    for tenant in tenants:
        with schema_context(tenant.schema_name):
            window = CheckResult.objects.filter(checked_at__gte=since, checked_at__lt=until)
            lags += window.values_list("lag_ms", flat=True)
            failures += window.filter(ok=False).count()
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


# --- CPU from /proc (psutil is not a dependency) ---------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(entry))
    return tree


def tree_cpu_s(pid: int) -> float:
    """utime + stime of `pid` and all its descendants (alive now), in seconds."""
    tree, total, todo = _children(), 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
        todo.extend(tree.get(current, ()))
    return total / CLOCK_TICKS


def machine_busy_s() -> float:
    """CPU-seconds all cores spent not idle (from /proc/stat)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    return (sum(values) - values[3] - values[4]) / CLOCK_TICKS


def gunicorn_pid(port_hint: str) -> int | None:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if b"gunicorn" in cmd and port_hint.encode() in cmd:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                if ppid == os.getpid():
                    return int(entry)
    return None


# --- The run --------------------------------------------------------------------------------


def play_beat(queue: str, runners: int, every: float, stop: threading.Event) -> None:
    """What beat + `monitoring.tick` do, on the bench's own queue."""
    from apps.monitoring.tasks import run_due

    while not stop.is_set():
        for _ in range(runners):
            run_due.apply_async(queue=queue)
        stop.wait(every)


def run(monitors: int, interval: int, seconds: int, workers: int, warmup: int, tenants: int) -> str:
    from django.conf import settings
    from django.utils import timezone

    port = free_port()
    target = subprocess.Popen([sys.executable, "-c", TARGET.format(port=port)])
    queue = f"bench-monitoring-{os.getpid()}"
    worker = None
    beat_stop = threading.Event()
    try:
        for _ in range(50):
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        started = time.perf_counter()
        made, raw_key = prepare(monitors, interval, f"http://127.0.0.1:{port}", tenants)
        print(f"set-up (database, tenant, monitors) took {time.perf_counter() - started:.1f} s")
        production = {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": "bench-" + os.urandom(16).hex(),
            "SECURE_SSL_REDIRECT": "false",
        }
        env = {**os.environ, **production}
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue,
             "-c", str(workers), "--without-mingle", "--without-gossip", "-l", "warning",
             "-n", f"{queue}@%h"],
            cwd=ROOT, env=env, start_new_session=True,
        )  # fmt: skip
        server_env = {
            **production,
            "THROTTLE_READ_RATE": "1000000/min",
            "THROTTLE_WRITE_RATE": "1000000/min",
        }
        with web_server(workers=2, env=server_env) as base:
            beat = threading.Thread(
                target=play_beat,
                args=(queue, settings.MONITORING_RUNNERS, settings.MONITORING_TICK_S, beat_stop),
            )
            beat.start()
            time.sleep(warmup)
            api = {"list": [], "create": []}
            stop = threading.Event()
            timer = threading.Thread(
                target=time_api, args=(base, raw_key, f"http://127.0.0.1:{port}", stop, api)
            )
            web_pid = gunicorn_pid(base.rsplit(":", 1)[1])
            timer.start()
            since = timezone.now()
            cpu0 = (tree_cpu_s(worker.pid), tree_cpu_s(target.pid),
                    tree_cpu_s(web_pid) if web_pid else 0.0, machine_busy_s())  # fmt: skip
            time.sleep(seconds)
            cpu1 = (tree_cpu_s(worker.pid), tree_cpu_s(target.pid),
                    tree_cpu_s(web_pid) if web_pid else 0.0, machine_busy_s())  # fmt: skip
            until = timezone.now()
            load = os.getloadavg()
            stop.set()
            timer.join()
            time.sleep(1.5)  # let the last flush land
        failures, lags = count_results(made, since, until)
    finally:
        beat_stop.set()
        if worker is not None:  # no warm shutdown (a runner would finish its budget): the
            os.killpg(worker.pid, signal.SIGKILL)  # scratch database is dropped next anyway
        target.terminate()
        for process in (worker, target):
            if process is not None:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
        _drop_queue(queue)
    window = (until - since).total_seconds()
    pct = [(b - a) / window * 100 for a, b in zip(cpu0, cpu1, strict=True)]
    checks = len(lags)
    per_min = checks * 60 / window
    lag_p95 = percentile([lag / 1000 for lag in lags], 95) if lags else float("nan")
    print(f"checks in {seconds} s: {checks} ({failures} failed); schedule allows "
          f"{monitors * 60 // interval}/min; lag p50 {median(lags) / 1000 if lags else 0:.2f} s, "
          f"p95 {lag_p95:.2f} s")  # fmt: skip
    print(f"CPU, % of one core: celery worker {pct[0]:.0f}, HTTP target {pct[1]:.0f}, gunicorn "
          f"{pct[2]:.0f}, whole machine {pct[3]:.0f} of {100 * os.cpu_count()}; load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")  # fmt: skip
    for name in ("list", "create"):
        values = api[name]
        print(f"{name:>7}: n={len(values)} p50 {median(values):.1f} ms, "
              f"p95 {percentile(values, 95):.1f} ms")  # fmt: skip
    return (
        f"BENCH monitoring monitors={monitors} interval_s={interval}"
        f"{f' tenants={tenants}' if tenants > 1 else ''} checks_per_min={per_min:.0f} "
        f"lag_p95_s={lag_p95:.2f} cpu_pct={pct[0]:.0f} "
        f"api_list_p95_ms={percentile(api['list'], 95):.1f} "
        f"api_create_p95_ms={percentile(api['create'], 95):.1f}"
    )


def _drop_queue(queue: str) -> None:
    """Successors the runners queued before they were stopped (kombu keeps a list per queue)."""
    import redis
    from django.conf import settings

    with contextlib.suppress(redis.RedisError):
        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(queue)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--monitors", type=int, default=3000, help="HTTP monitors (3000)")
    parser.add_argument("--interval", type=int, default=30, help="their interval, s (30)")
    parser.add_argument("--seconds", type=int, default=20, help="measured window, s (20)")
    parser.add_argument("--warmup", type=int, default=8, help="before the window, s (8)")
    parser.add_argument("--tenants", type=int, default=1, help="spread over K tenants (1)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                        help="Celery worker processes = runners (one per core)")  # fmt: skip
    args = parser.parse_args()
    os.environ.setdefault("OUTBOUND_ALLOWED_NETWORKS", "127.0.0.0/8")
    os.environ.setdefault("MONITORING_RUNNERS", str(args.workers))
    with services(), scratch_database("config.settings.local"):
        line = run(
            args.monitors, args.interval, args.seconds, args.workers, args.warmup, args.tenants
        )
    print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
