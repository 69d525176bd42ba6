"""Tenant creation time as tenants grow: N tenants through tenant_create, timed one by one.

    .venv/bin/python bench/tenant_provisioning.py [--count N] [--spares M]

Runs in a scratch database that it creates and drops (on the server of DATABASE_URL, else the
one scripts/services.py finds or starts). The BENCH line times the path with no spare schema
ready (the render replayed in the creating transaction). Then it fills a pool of M spare schemas
(as the worker does), times M more tenants taking them, and the release step
(`manage.py release`) with no pending tenant migration at N + M tenants. Ends with
    BENCH tenant_create count=N p50_ms=X p95_ms=Y first_decile_p95_ms=A last_decile_p95_ms=B
"""

from __future__ import annotations

import argparse
import io
import time
import uuid

from _support import median, percentile, scratch_database, services


def run(count: int, spares: int) -> str:
    from django.core.management import call_command

    from apps.tenants.provisioning import spares_fill
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
            f"{median(batch):>8.1f} {percentile(batch, 95):>8.1f}"
        )

    if spares:
        started = time.perf_counter()
        spares_fill(target=spares)
        fill_s = time.perf_counter() - started
        taken: list[float] = []
        for index in range(spares):
            begin = time.perf_counter()
            tenant_create(name=f"Spare {index}", slug=f"s{tag}-{index}")
            taken.append((time.perf_counter() - begin) * 1000)
        print(
            f"spare path: {spares} spares made in {fill_s:.1f} s; tenants taking them: "
            f"p50 {median(taken):.1f} ms, p95 {percentile(taken, 95):.1f} ms"
        )

    out = io.StringIO()
    started = time.perf_counter()
    call_command("release", verbosity=0, stdout=out)
    release_s = time.perf_counter() - started
    pending = [line for line in out.getvalue().splitlines() if "pending" in line]
    print(f"release at {count + spares} tenants: {release_s:.2f} s ({'; '.join(pending)})")

    return (
        f"BENCH tenant_create count={count} "
        f"p50_ms={median(timings):.1f} p95_ms={percentile(timings, 95):.1f} "
        f"first_decile_p95_ms={percentile(batches[0], 95):.1f} "
        f"last_decile_p95_ms={percentile(batches[-1], 95):.1f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=250, help="tenants to create (250)")
    parser.add_argument("--spares", type=int, default=50, help="spare-path tenants (50)")
    args = parser.parse_args()
    with services(), scratch_database():
        line = run(args.count, args.spares)
    print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
