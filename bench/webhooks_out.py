"""Outgoing webhooks: events in through the outbox, signed deliveries out to a local receiver.

    .venv/bin/python bench/webhooks_out.py [--events N] [--paced M] [--rate R] [--in-process]

In a scratch database: one tenant with one endpoint aimed at a local receiver (aiohttp, its own
process, 127.0.0.1, which verifies every signature with `standardwebhooks` and answers 200).

1. Throughput: N events are emitted (event_emit, committed in batches of 500) before anything
   runs; then the real outbox dispatcher (apps.core.outbox.outbox_dispatch, consumer
   apps.monitoring.webhook_consumer.outbox_consume) and the real deliverer
   (apps.webhooks.delivery.run_due) run until the receiver has all N.
   per_s = N / (last delivery received - start).
2. Latency: M more events emitted at R per second while everything runs; p95_ms is the 95th
   percentile of emit-to-received time (event_emit's commit to the receiver's clock).

By default everything runs in a real Celery worker (--workers processes, 3; WEBHOOKS_RUNNERS =
--runners, 2): event_emit kicks `core.outbox_dispatch` on commit, the consumer kicks
`monitoring.webhooks_deliver` on commit; the bench starts nothing else by hand (for the
backlog it holds the kicks back and sends one `core.outbox_dispatch` once all N are in).
With --in-process the dispatcher (a thread looping outbox_dispatch) and one deliverer
(run_due in a thread, as the Celery task runs it) share this process (one GIL): a profile
harness, slower.
Ends with
    BENCH webhooks_out deliveries=N per_s=… p95_ms=… attempt_p95_ms=… mode=…
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import threading
import time

import httpx
from _support import ROOT, free_port, median, percentile, scratch_database, services

RECEIVER = """
import json, time
from aiohttp import web
from standardwebhooks import Webhook
hook = Webhook({secret!r})
state = {{"ids": set(), "count": 0, "bad": 0, "latencies": [], "first": None, "last": None}}
async def receive(request):
    body = await request.read()
    now = time.time()
    try:
        payload = hook.verify(body, dict(request.headers))
    except Exception:
        state["bad"] += 1
        return web.Response(status=400, text="bad signature")
    state["count"] += 1
    state["ids"].add(request.headers["webhook-id"])
    state["first"] = state["first"] or now
    state["last"] = now
    emitted = payload["data"].get("emitted_at")
    if emitted:
        state["latencies"].append((now - emitted) * 1000)
    return web.Response(text="ok")
async def stats(request):
    return web.json_response({{"count": state["count"], "unique": len(state["ids"]),
        "bad": state["bad"], "first": state["first"], "last": state["last"],
        "latencies": state["latencies"]}})
async def reset(request):
    state["latencies"] = []
    return web.json_response({{}})
app = web.Application()
app.router.add_post("/hook", receive)
app.router.add_get("/stats", stats)
app.router.add_post("/reset", reset)
web.run_app(app, host="127.0.0.1", port={port}, print=None, access_log=None)
"""


def prepare(url: str):
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django_tenants.utils import schema_context

    from apps.core.outbox import outbox_dispatch
    from apps.monitoring.services import SYSTEM
    from apps.tenants.services import tenant_create
    from apps.webhooks.services import webhook_endpoint_create

    call_command("release", verbosity=0, stdout=io.StringIO())
    user = get_user_model().objects.create_user(username="b@example.com", email="b@example.com")
    tenant = tenant_create(name="Bench", slug="bench", owner=user)
    outbox_dispatch()  # tenant.created goes out before the endpoint exists: not counted
    with schema_context(tenant.schema_name):
        _, secret = webhook_endpoint_create(tenant=tenant, actor=SYSTEM, url=url)
    return tenant, secret


def emit(tenant, count: int, *, start: int = 0, batch: int = 500) -> None:
    from django.db import transaction

    from apps.core.outbox import event_emit

    for first in range(start, start + count, batch):
        with transaction.atomic():
            for n in range(first, min(first + batch, start + count)):
                event_emit(type="deployment.succeeded", tenant=tenant,
                           data={"n": n, "app": {"name": "web"}, "release": f"v{n}",
                                 "emitted_at": time.time()})  # fmt: skip


def emit_paced(tenant, count: int, rate: float, start: int) -> None:
    """`count` events at `rate` per second, in small committed batches (every 50 ms)."""
    from django.db import connection

    per_tick = max(1, round(rate / 20))
    began = time.monotonic()
    sent = 0
    try:
        while sent < count:
            n = min(per_tick, count - sent)
            emit(tenant, n, start=start + sent, batch=n)
            sent += n
            delay = began + sent / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    finally:
        connection.close()


class InProcess:
    """The dispatcher loop and the deliverer, each in a thread with its own DB connection."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self._dispatch, daemon=True),
            threading.Thread(target=self._deliver, daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def _dispatch(self) -> None:
        from django.db import connection

        from apps.core.outbox import outbox_dispatch

        try:
            while not self.stop.is_set():
                if outbox_dispatch() == 0:
                    time.sleep(0.1)
        finally:
            connection.close()

    def _deliver(self) -> None:
        from django.db import connection

        from apps.webhooks.delivery import run_due

        try:
            while not self.stop.is_set():  # as the Celery task: a budget, then again
                run_due(budget_s=25, idle_exit_s=0.5)
        finally:
            connection.close()

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=40)


def wait_for(stats_url: str, count: int, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        stats = httpx.get(stats_url, timeout=10).json()
        if stats["count"] >= count or time.monotonic() > deadline:
            return stats
        time.sleep(0.1)


def attempt_durations(tenant) -> list[int]:
    from django_tenants.utils import schema_context

    from apps.webhooks.models import WebhookAttempt

    with schema_context(tenant.schema_name):
        return list(WebhookAttempt.objects.values_list("duration_ms", flat=True))


def run(events: int, paced: int, rate: float, celery: bool, workers: int) -> str:
    from django.conf import settings

    port = free_port()
    runner = worker = None
    base = f"http://127.0.0.1:{port}"
    # The secret is made with the endpoint, before the receiver can know it: start it after.
    tenant, secret = prepare(f"{base}/hook")
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER.format(port=port, secret=secret)])
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base}/stats", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        if celery:
            worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q",
                 settings.CELERY_TASK_DEFAULT_QUEUE, "-c", str(workers), "--without-mingle",
                 "--without-gossip", "-l", "warning", "-n", f"bench-webhooks-{os.getpid()}@%h"],
                cwd=ROOT, env={**os.environ},
            )  # fmt: skip
            time.sleep(6)  # worker start-up
        else:
            settings.OUTBOX_DISPATCH_ON_COMMIT = False
            settings.WEBHOOKS_DELIVER_ON_COMMIT = False

        # 1. Throughput: a backlog of N events.
        started_emit = time.monotonic()
        if celery:  # hold the kicks until the whole backlog is in
            settings.OUTBOX_DISPATCH_ON_COMMIT = False
        emit(tenant, events)
        emit_s = time.monotonic() - started_emit
        start = time.time()
        if celery:
            from apps.core.tasks import outbox_dispatch

            settings.OUTBOX_DISPATCH_ON_COMMIT = True
            outbox_dispatch.delay()
        else:
            runner = InProcess()
        stats = wait_for(f"{base}/stats", events, timeout=120)
        elapsed = (stats["last"] or time.time()) - start
        per_s = stats["count"] / elapsed if elapsed > 0 else 0.0
        print(f"throughput: {stats['count']}/{events} received ({stats['unique']} distinct ids, "
              f"{stats['bad']} bad signatures) in {elapsed:.2f} s = {per_s:.0f}/s "
              f"(emitting them took {emit_s:.2f} s)")  # fmt: skip

        # 2. Latency at a steady rate.
        httpx.post(f"{base}/reset", timeout=5)
        emitter = threading.Thread(target=emit_paced, args=(tenant, paced, rate, events))
        emitter.start()
        emitter.join()
        final = wait_for(f"{base}/stats", events + paced, timeout=60)
        latencies = final["latencies"]
        p95 = percentile(latencies, 95) if latencies else float("nan")
        print(f"latency at {rate:.0f}/s: {len(latencies)}/{paced} received, emit-to-received "
              f"p50 {median(latencies) if latencies else 0:.0f} ms, p95 {p95:.0f} ms")  # fmt: skip
    finally:
        if runner is not None:
            runner.close()
        for process in (worker, receiver):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
    durations = attempt_durations(tenant)
    attempt_p95 = percentile(durations, 95) if durations else float("nan")
    print(f"attempts: {len(durations)}, duration p50 {median(durations):.0f} ms, "
          f"p95 {attempt_p95:.0f} ms; load: {os.getloadavg()[0]:.2f} (1 min)")  # fmt: skip
    mode = "celery" if celery else "in_process"
    return (
        f"BENCH webhooks_out deliveries={stats['count']} per_s={per_s:.0f} p95_ms={p95:.0f} "
        f"attempt_p95_ms={attempt_p95:.0f} mode={mode}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=5000, help="backlog for throughput (5000)")
    parser.add_argument("--paced", type=int, default=1000, help="events for latency (1000)")
    parser.add_argument("--rate", type=float, default=200.0, help="their rate per s (200)")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="dispatch and deliver in threads of this process, not Celery",
    )
    parser.add_argument("--workers", type=int, default=3, help="--celery: processes (3)")
    parser.add_argument("--runners", type=int, default=2, help="--celery: WEBHOOKS_RUNNERS (2)")
    args = parser.parse_args()
    os.environ.setdefault("OUTBOUND_ALLOWED_NETWORKS", "127.0.0.0/8")
    os.environ["WEBHOOKS_RUNNERS"] = str(args.runners)
    with services(), scratch_database("config.settings.test"):
        line = run(args.events, args.paced, args.rate, not args.in_process, args.workers)
    print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
