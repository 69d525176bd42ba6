"""What provisioning an add-on costs, on the add-ons' own servers under a real supervisord.

    .venv/bin/python bench/addons.py [--count 12]

Starts supervisord in a temporary runtime directory (as the local runtime does), then:
- cluster_start_s: the add-on PostgreSQL cluster's first start (initdb, pg_hba, postgres under
  supervisord, until the admin role connects);
- provision_p95_s / provision_median_s: over --count (at least 10) PostgreSQL add-ons, one after
  the other, the server side of provisioning (apps.addons.engines.postgres.provision: group and
  login roles, CREATE DATABASE, privileges, the pg_hba line and reload, and waiting until the new
  role logs in), which is what an add-on waits for between `provisioning` and `available` (the
  env var and release that follow are deploy's, measured by bench/deploy.py);
- redis_provision_p95_s: the same for Redis add-ons (config, ACL file, redis-server under
  supervisord, until it answers).
Everything it made is removed with the directory (supervisord stops the servers).

The backups half adds backup_mb_per_s and restore_mb_per_s to the BENCH line (see the marked
place in main()). Ends with
    BENCH addons provision_p95_s=… provision_median_s=… cluster_start_s=… redis_provision_p95_s=…"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from _support import median, percentile  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=12)
    args = parser.parse_args()
    count = max(10, args.count)
    root = tempfile.mkdtemp(prefix="qs-bench-addons-", dir="/tmp")
    os.environ["DEPLOY_RUNTIME_DIR"] = root
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from apps.addons.engines import pg_cluster, postgres, redis
    from apps.deploy.runtime.local import LocalProvider

    conf = LocalProvider(root).render_files([])
    supervisord = subprocess.Popen(
        [str(Path(sys.executable).parent / "supervisord"), "-n", "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    results: dict[str, float] = {}
    try:
        LocalProvider(root).ensure_ready(wait_s=20)
        started = time.perf_counter()
        pg_cluster.cluster()
        results["cluster_start_s"] = time.perf_counter() - started
        times = []
        for _ in range(count):
            name = f"a_{uuid.uuid4().hex}"
            started = time.perf_counter()
            postgres.provision(db_name=name, role=f"{name}_1", password=postgres.password_new(),
                               connection_limit=postgres.CONNECTION_LIMIT)  # fmt: skip
            times.append(time.perf_counter() - started)
        results["provision_p95_s"] = percentile(times, 95)
        results["provision_median_s"] = median(times)
        redis_times = []
        for _ in range(max(5, count // 2)):
            key = uuid.uuid4().hex
            started = time.perf_counter()
            redis.provision(key=key, password="bench-" + key, admin_password="admin-" + key,
                            maxmemory_mb=16)  # fmt: skip
            redis_times.append(time.perf_counter() - started)
        results["redis_provision_p95_s"] = percentile(redis_times, 95)
        # --- backups (the backups half): backup_mb_per_s, restore_mb_per_s of a 100 MB
        # database go into `results` here. ---
    finally:
        supervisord.send_signal(signal.SIGTERM)
        try:
            supervisord.wait(timeout=40)
        except subprocess.TimeoutExpired:
            supervisord.kill()
        shutil.rmtree(root, ignore_errors=True)
    print(f"PostgreSQL add-ons provisioned: {count}; load_1m={os.getloadavg()[0]:.2f}")
    first = ("provision_p95_s", "provision_median_s")  # the key leads the line
    ordered = [*first, *(key for key in results if key not in first)]
    line = " ".join(f"{key}={results[key]:.3f}" for key in ordered if key in results)
    print(f"BENCH addons {line}")


if __name__ == "__main__":
    main()
