"""Stripe webhook ingest at a running web server, then exactly-once processing by a worker.

    .venv/bin/python bench/stripe_webhooks.py [--events N] [--concurrency C] [--web-workers W]
        [--worker-processes P] [--worker-during] [--limit-set-calls]

Starts what it needs and stops it afterwards: a scratch database (created, migrated and dropped
on the server of DATABASE_URL, else the one scripts/services.py finds or starts), a gunicorn web
server on 127.0.0.1 and a Celery worker, with production settings but a queue and cache prefix
of the run's own. Posts N `invoice.paid` events signed with Stripe's scheme to
/webhooks/stripe/ from C client threads over kept-alive connections and times every answer;
then delivers 5% of them again (each must answer `duplicate: true`); then lets the worker
process them (started once every event is in, unless --worker-during) and checks that every
event was processed exactly once: status succeeded with one attempt, one numbered invoice and
one transaction per event, invoice numbers without gaps. Prints the CPU the web server spent
per event and the load average, since this machine's other work skews every figure. Ends with
    BENCH stripe_webhook_ingest events=N p50_ms=X p95_ms=Y events_per_s=Z
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from _support import ROOT, free_port, median, percentile, scratch_database, services

SECRET = "whsec_bench_" + uuid.uuid4().hex
CUSTOMERS = 50
WARMUP = 40


def production_like_settings(directory: Path, *, limit_set_calls: bool) -> None:
    """The web server, the worker and this script run config.settings.production (DEBUG off,
    no test-only middleware costs), with a queue and cache prefix of this run's own so that no
    other worker on the same Redis takes its tasks. The module is written to a temporary
    directory put on PYTHONPATH."""
    run_id = f"bench-{os.getpid()}"
    (directory / "qs_bench_settings.py").write_text(
        "from config.settings.production import *  # noqa: F403\n"
        "from config.settings.production import CACHES\n"
        f"CACHES['default']['KEY_PREFIX'] = {run_id!r}\n"
        f"CELERY_TASK_DEFAULT_QUEUE = {run_id!r}\n"
        "EMAIL_BACKEND = 'django.core.mail.backends.locmem.EmailBackend'\n"
        + ("TENANT_LIMIT_SET_CALLS = True\n" if limit_set_calls else "")
    )
    sys.path.insert(0, str(directory))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(directory), str(ROOT), os.environ.get("PYTHONPATH", "")]
    ).rstrip(os.pathsep)
    os.environ["DJANGO_SETTINGS_MODULE"] = "qs_bench_settings"
    os.environ.setdefault("SECRET_KEY", uuid.uuid4().hex + uuid.uuid4().hex)


def event_body(index: int, now: int) -> str:
    invoice = {
        "id": f"in_bench_{index:06d}",
        "object": "invoice",
        "customer": f"cus_bench_{index % CUSTOMERS:03d}",
        "currency": "usd",
        "status": "paid",
        "amount_paid": 2900,
        "subtotal": 2900,
        "total": 2900,
        "period_start": now,
        "period_end": now + 30 * 86400,
        "lines": {
            "data": [
                {
                    "description": "Pro",
                    "amount": 2900,
                    "quantity": 1,
                    "period": {"start": now, "end": now + 30 * 86400},
                }
            ]
        },
    }
    from django.conf import settings

    return json.dumps(
        {
            "id": f"evt_bench_{index:06d}",
            "object": "event",
            "api_version": settings.STRIPE_API_VERSION,
            "created": now,
            "data": {"object": invoice},
            "livemode": False,
            "type": "invoice.paid",
        }
    )


def post_all(base: str, bodies: list[str], concurrency: int) -> tuple[list[float], list[dict]]:
    """POST every body from `concurrency` threads over kept-alive connections; (latencies in
    ms, answers). Signatures are made before the clock starts: the load generator shares the
    machine's CPUs with the server, so it does as little as it can while timing."""
    import http.client

    import stripe

    host, port = base.removeprefix("http://").split(":")
    signed = [
        (body.encode(), stripe.WebhookSignature.generate_signature_header(body, SECRET))
        for body in bodies
    ]
    latencies: list[float] = []
    answers: list[bytes] = []
    lock = threading.Lock()
    queue = iter(signed)

    def worker() -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            while True:
                with lock:
                    item = next(queue, None)
                if item is None:
                    return
                body, header = item
                headers = {
                    "Content-Type": "application/json",
                    "Stripe-Signature": header,
                    # As from the TLS-terminating proxy production runs behind.
                    "X-Forwarded-Proto": "https",
                }
                started = time.perf_counter()
                connection.request("POST", "/webhooks/stripe/", body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
                elapsed = (time.perf_counter() - started) * 1000
                if response.status != 200:
                    raise RuntimeError(f"{response.status}: {data[:300]!r}")
                if response.will_close:
                    connection.close()
                with lock:
                    latencies.append(elapsed)
                    answers.append(data)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, [json.loads(answer) for answer in answers]


def cpu_seconds(root_pid: int) -> float:
    """User + system CPU of a process and its children still alive (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    pids = [root_pid]
    try:
        children = Path(f"/proc/{root_pid}/task/{root_pid}/children").read_text().split()
        pids += [int(child) for child in children]
    except OSError:
        pass
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


def run(
    events: int, concurrency: int, web_workers: int, worker_during: bool, worker_processes: int
) -> str:
    import django
    from django.core.management import call_command

    django.setup()
    import logging

    import httpx

    logging.getLogger("httpx").setLevel(logging.WARNING)
    from django.conf import settings
    from django.db import connections

    from apps.billing.models import BillingAccount, EventStatus, Invoice, StripeEvent, Transaction
    from apps.billing.selectors import plan_free
    from apps.core import heartbeat
    from apps.tenants.models import Tenant

    started = time.perf_counter()
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0,
                 stdout=io.StringIO())  # fmt: skip
    free = plan_free()
    for index in range(CUSTOMERS):
        tenant = Tenant.objects.create(
            name=f"Bench {index}", slug=f"bench-{index}", schema_name=f"t_bench_{index}",
            status="active",
        )  # fmt: skip
        BillingAccount.objects.create(
            tenant=tenant, plan=free, stripe_customer_id=f"cus_bench_{index:03d}"
        )
    connections.close_all()
    print(f"database migrated and {CUSTOMERS} billing accounts made: "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}

    def start_worker(niceness: int) -> subprocess.Popen:
        return subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "config", "worker",
                "-Q", settings.CELERY_TASK_DEFAULT_QUEUE, "-c", str(worker_processes),
                "--without-mingle", "--without-gossip", "-l", "warning",
                "-n", f"bench-{os.getpid()}@%h",
            ],
            cwd=ROOT, env=env, preexec_fn=lambda: os.nice(niceness),
        )  # fmt: skip

    # Processing costs several times what ingest does; while posts arrive the worker runs at a
    # lower CPU priority, so that answering Stripe comes first on a shared machine.
    worker = start_worker(10) if worker_during else None
    port = free_port()
    web = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "config.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--workers", str(web_workers),
            "--worker-class", "gthread", "--threads", "2", "--log-level", "warning",
        ],
        cwd=ROOT, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:

        def web_up() -> bool:
            try:
                return httpx.get(f"{base}/healthz", timeout=1).status_code in (200, 503)
            except httpx.TransportError:
                return False

        wait_until(web_up, 30, "the web server")
        if worker is not None:
            wait_until(lambda: bool(heartbeat.heartbeats()), 30, "the worker")
        now = int(time.time())
        post_all(base, [event_body(i, now) for i in range(WARMUP)], concurrency)

        bodies = [event_body(WARMUP + i, now) for i in range(events)]
        web_cpu, client_cpu = cpu_seconds(web.pid), time.process_time()
        began = time.perf_counter()
        latencies, answers = post_all(base, bodies, concurrency)
        wall = time.perf_counter() - began
        web_cpu = cpu_seconds(web.pid) - web_cpu
        client_cpu = time.process_time() - client_cpu
        load = os.getloadavg()[0]
        print(
            f"ingest: {wall:.1f} s wall; CPU per event: web server {web_cpu / events * 1000:.2f} "
            f"ms, load client {client_cpu / events * 1000:.2f} ms; load average {load:.1f} "
            f"on {os.cpu_count()} CPUs"
        )
        assert not any(a["duplicate"] for a in answers), "a first delivery was taken as duplicate"

        again = bodies[:: max(1, len(bodies) // max(1, events // 20))]
        _, repeated = post_all(base, again, concurrency)
        assert all(a["duplicate"] for a in repeated), "a re-delivery was not recognised"
        print(f"re-delivered {len(again)} events: all answered 200 duplicate")

        total = events + WARMUP
        processing = time.perf_counter()
        if worker is None:
            worker = start_worker(0)

        def open_events() -> int:
            return StripeEvent.objects.filter(
                status__in=[EventStatus.PENDING, EventStatus.FAILED]
            ).count()

        # Wait as long as the worker makes progress (a loaded machine is slow, not broken).
        left, last_progress = open_events(), time.monotonic()
        while left:
            time.sleep(0.25)
            now_left = open_events()
            if now_left < left:
                left, last_progress = now_left, time.monotonic()
            elif time.monotonic() - last_progress > 30:
                from django.db.models import Count

                print(list(StripeEvent.objects.values("status").annotate(n=Count("pk"))))
                print(StripeEvent.objects.exclude(last_error="").values_list("last_error")[:3])
                raise RuntimeError("the worker made no progress for 30 s")
        processing = time.perf_counter() - processing
        print(f"worker drained the queue {processing:.1f} s after the last post")

        assert StripeEvent.objects.count() == total
        done = StripeEvent.objects.filter(status=EventStatus.SUCCEEDED, attempts=1).count()
        assert done == total, f"{done} of {total} events succeeded at their first attempt"
        numbers = sorted(
            int(n.removeprefix(settings.BILLING_INVOICE_PREFIX))
            for n in Invoice.objects.exclude(number=None).values_list("number", flat=True)
        )
        assert numbers == list(range(1, total + 1)), "invoice numbers have gaps or repeats"
        assert Transaction.objects.count() == total
        print(f"exactly once: {total} events succeeded with 1 attempt each; {total} invoices "
              f"INV-000001..INV-{total:06d}, {total} transactions")  # fmt: skip
    finally:
        processes = [p for p in (web, worker) if p is not None]
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()

    mode = "worker running during ingest (nice 10)" if worker_during else "worker started after"
    print(
        f"{concurrency} client threads, {web_workers} gunicorn workers (2 threads each), "
        f"{worker_processes} worker processes, {mode}"
    )
    return (
        f"BENCH stripe_webhook_ingest events={events} "
        f"p50_ms={median(latencies):.1f} p95_ms={percentile(latencies, 95):.1f} "
        f"events_per_s={events / wall:.0f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1000, help="events to post (1000)")
    parser.add_argument("--concurrency", type=int, default=6, help="client threads (6)")
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn workers (4)")
    parser.add_argument("--worker-processes", type=int, default=4, help="Celery worker pool (4)")
    parser.add_argument(
        "--limit-set-calls",
        action="store_true",
        help="try django-tenants' TENANT_LIMIT_SET_CALLS=True (search_path set once per "
        "connection, not before every query); not the project's setting today",
    )
    parser.add_argument(
        "--worker-during",
        action="store_true",
        help="run the worker (at nice 10) while events are posted, instead of starting it once "
        "every event is in: ingest then shares the CPUs with processing",
    )
    args = parser.parse_args()

    settings_dir = tempfile.TemporaryDirectory(prefix="qs-bench-")
    production_like_settings(Path(settings_dir.name), limit_set_calls=args.limit_set_calls)
    os.environ["STRIPE_WEBHOOK_SECRET"] = SECRET
    try:
        with services(), scratch_database(os.environ["DJANGO_SETTINGS_MODULE"]):
            line = run(
                args.events,
                args.concurrency,
                args.web_workers,
                args.worker_during,
                args.worker_processes,
            )
    finally:
        settings_dir.cleanup()
    print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
