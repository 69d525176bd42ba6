"""Tenant creation time as tenants grow: N tenants through tenant_create, timed one by one.

    .venv/bin/python bench/tenant_provisioning.py [--count N]

Runs in a scratch database that it creates and drops (on the server of DATABASE_URL, else the
one scripts/services.py finds or starts). Prints p50/p95 per tenth of the run, the time of a
release step (`manage.py release`) with no pending tenant migration at N tenants, and ends with
    BENCH tenant_create count=N p50_ms=X p95_ms=Y first_decile_p95_ms=A last_decile_p95_ms=B
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def services_up() -> bool:
    """Export DATABASE_URL/REDIS_URL from scripts/services.py; True if it started anything."""
    if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"):
        return False
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "services.py"), "up", f"--owner-pid={os.getpid()}"],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    for line in out.splitlines():
        line = line.removeprefix("export ").strip()
        if "=" in line:
            key, value = line.split("=", 1)
            os.environ[key] = value.strip("'\"")
    return True


def services_down() -> None:
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "services.py"),
            "down",
            f"--owner-pid={os.getpid()}",
        ],
        cwd=ROOT,
    )


def scratch_database_url(base_url: str, name: str) -> str:
    head, _, _ = base_url.rpartition("/")
    return f"{head}/{name}"


def admin_execute(base_url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(scratch_database_url(base_url, "postgres"), autocommit=True) as conn:
        conn.execute(statement)


def run(count: int) -> str:
    import django
    from django.core.management import call_command

    django.setup()
    from apps.tenants.services import tenant_create

    started = time.perf_counter()
    call_command("release", verbosity=0, stdout=io.StringIO())
    print(f"migrations and template render: {time.perf_counter() - started:.1f} s")

    timings: list[float] = []
    tag = uuid.uuid4().hex[:6]
    for index in range(count):
        begin = time.perf_counter()
        tenant_create(name=f"Bench {index}", slug=f"b{tag}-{index}")
        timings.append((time.perf_counter() - begin) * 1000)

    decile = max(1, count // 10)
    batches = [timings[i : i + decile] for i in range(0, count, decile)]
    print(f"{'tenants':>13} {'p50 ms':>8} {'p95 ms':>8}")
    for number, batch in enumerate(batches):
        first = number * decile + 1
        print(
            f"{first:>6}-{first + len(batch) - 1:<6} "
            f"{statistics.median(batch):>8.1f} {percentile(batch, 95):>8.1f}"
        )

    out = io.StringIO()
    started = time.perf_counter()
    call_command("release", verbosity=0, stdout=out)
    release_s = time.perf_counter() - started
    pending = [line for line in out.getvalue().splitlines() if "pending" in line]
    print(f"release at {count} tenants: {release_s:.2f} s ({'; '.join(pending)})")

    return (
        f"BENCH tenant_create count={count} "
        f"p50_ms={statistics.median(timings):.1f} p95_ms={percentile(timings, 95):.1f} "
        f"first_decile_p95_ms={percentile(batches[0], 95):.1f} "
        f"last_decile_p95_ms={percentile(batches[-1], 95):.1f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=500, help="tenants to create (500)")
    args = parser.parse_args()

    started_services = services_up()
    base_url = os.environ["DATABASE_URL"]
    name = f"quayside_bench_{os.getpid()}"
    admin_execute(base_url, f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = scratch_database_url(base_url, name)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ.setdefault("QS_TEST_RUN_ID", f"bench-{os.getpid()}")
    try:
        line = run(args.count)
    finally:
        from django.db import connections

        connections.close_all()
        admin_execute(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if started_services:
            services_down()
    print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
