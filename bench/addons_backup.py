"""Backup and restore of a 100 MB PostgreSQL database, the way add-on backups run them:

    backup:  pg_dump --format=custom (ADDONS_BACKUP_PG_COMPRESS) → AES-GCM chunks → storage
    restore: storage → decrypt → pg_restore --clean --if-exists --single-transaction

    .venv/bin/python bench/addons_backup.py [--mb 100]

Alone, it uses a scratch database `qs_bk_bench_*` on the machine's PostgreSQL (DATABASE_URL's
server, default 127.0.0.1:5432) and a temporary local backup directory, and drops both.
bench/addons.py calls `measure_on_addon_cluster()` for a database on the add-ons' own cluster.
MB/s are of the database's size (pg_database_size after the fill). Ends with
    BENCH addons_backup backup_mb_per_s=… restore_mb_per_s=…"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ROW_BYTES = 170  # one row of the fill below, with its tuple header and index entry


def _fill(conn, mb: int) -> None:
    """About `mb` MB of rows: 128 hex characters of random text each (compresses about 2:1)."""
    conn.execute("DROP TABLE IF EXISTS bench_rows")
    conn.execute("CREATE TABLE bench_rows (id bigint PRIMARY KEY, payload text NOT NULL)")
    rows = mb * 1024 * 1024 // ROW_BYTES
    conn.execute(
        "INSERT INTO bench_rows SELECT g, md5(random()::text) || md5(random()::text) || "
        "md5(random()::text) || md5(random()::text) FROM generate_series(1, %s) g",
        [rows],
    )
    conn.execute("VACUUM ANALYZE bench_rows")


def measure(target, conn, *, mb: int = 100, storage_dir: str | None = None) -> dict[str, float]:
    """Fill the database `target` (a PgTarget; `conn` an autocommit connection to it), back it
    up, empty the table, restore; the rates and what they were measured on."""
    from django.conf import settings

    from apps.addons.backups import crypto
    from apps.addons.backups.engines import pg_dump_stream, pg_restore_stream
    from apps.addons.backups.storage import LocalStorage

    own_dir = storage_dir is None
    directory = storage_dir or tempfile.mkdtemp(prefix="qs-bench-backups-", dir="/tmp")
    storage = LocalStorage(directory)
    try:
        _fill(conn, mb)
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        rows = conn.execute("SELECT count(*) FROM bench_rows").fetchone()[0]
        started = time.perf_counter()
        compress = settings.ADDONS_BACKUP_PG_COMPRESS
        stored = storage.write(
            "bench/backup.qsbk", crypto.encrypt_stream(pg_dump_stream(target, compress=compress))
        )
        backup_s = time.perf_counter() - started
        conn.execute("TRUNCATE bench_rows")
        started = time.perf_counter()
        pg_restore_stream(target, crypto.decrypt_stream(storage.read("bench/backup.qsbk")))
        restore_s = time.perf_counter() - started
        back = conn.execute("SELECT count(*) FROM bench_rows").fetchone()[0]
        if back != rows:
            raise RuntimeError(f"restored {back} rows of {rows}")
    finally:
        if own_dir:
            shutil.rmtree(directory, ignore_errors=True)
    mb_size = size / 1024 / 1024
    return {
        "backup_mb_per_s": mb_size / backup_s,
        "restore_mb_per_s": mb_size / restore_s,
        "backup_s": backup_s,
        "restore_s": restore_s,
        "database_mb": mb_size,
        "stored_mb": stored / 1024 / 1024,
    }


def measure_on_addon_cluster(*, mb: int = 100) -> dict[str, float]:
    """The same on a database of the add-ons' own cluster (already started by the caller, as
    bench/addons.py does); the database is dropped afterwards."""
    from apps.addons.backups.engines import PgTarget
    from apps.addons.engines import pg_cluster, postgres

    name = f"a_{uuid.uuid4().hex}"
    postgres.provision(db_name=name, role=f"{name}_1", password=postgres.password_new(),
                       connection_limit=postgres.CONNECTION_LIMIT)  # fmt: skip
    found = pg_cluster.cluster()
    info = found.admin_conninfo
    target = PgTarget(
        host=str(info.get("host") or found.socket_dir),
        port=int(info.get("port") or pg_cluster.PORT),
        user=str(info.get("user") or pg_cluster.ADMIN_ROLE),
        password=str(info.get("password") or ""),
        dbname=name,
        bin_dir="" if found.external else pg_cluster.bin_dir(),
    )
    try:
        with found.connect(name) as conn:
            return measure(target, conn, mb=mb)
    finally:
        postgres.destroy(db_name=name)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=100)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    import psycopg
    from django.db import connection

    from apps.addons.backups.engines import PgTarget

    server = connection.settings_dict
    where = {
        "host": server.get("HOST") or "127.0.0.1",
        "port": int(server.get("PORT") or 5432),
        "user": server.get("USER") or "postgres",
        "password": server.get("PASSWORD") or "",
    }
    name = f"qs_bk_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dbname="postgres", autocommit=True, **where) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        target = PgTarget(dbname=name, **where)
        with psycopg.connect(dbname=name, autocommit=True, **where) as conn:
            results = measure(target, conn, mb=args.mb)
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **where) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(
        f"database {results['database_mb']:.1f} MB, stored {results['stored_mb']:.1f} MB "
        f"(encrypted); backup {results['backup_s']:.1f} s, restore {results['restore_s']:.1f} s; "
        f"load_1m={os.getloadavg()[0]:.2f}"
    )
    print(
        f"BENCH addons_backup backup_mb_per_s={results['backup_mb_per_s']:.1f} "
        f"restore_mb_per_s={results['restore_mb_per_s']:.1f}"
    )


if __name__ == "__main__":
    main()
