"""What the benchmarks share: finding or starting PostgreSQL and Redis (scripts/services.py), a
scratch database of their own, and a web server on a free port. Everything started is stopped."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SERVICES = [sys.executable, str(ROOT / "scripts" / "services.py")]
logging.getLogger("httpx").setLevel(logging.WARNING)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values)


@contextlib.contextmanager
def services() -> Iterator[None]:
    """DATABASE_URL and REDIS_URL in os.environ for the duration (servers started if needed)."""
    if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"):
        yield
        return
    owner = f"--owner-pid={os.getpid()}"
    out = subprocess.run(
        [*SERVICES, "up", owner], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout
    for line in out.splitlines():
        line = line.removeprefix("export ").strip()
        if "=" in line:
            key, value = line.split("=", 1)
            os.environ[key] = value.strip("'\"")
    try:
        yield
    finally:
        subprocess.run([*SERVICES, "down", owner], cwd=ROOT)


def _with_database(url: str, name: str) -> str:
    head, _, _ = url.rpartition("/")
    return f"{head}/{name}"


def _admin_execute(base_url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(_with_database(base_url, "postgres"), autocommit=True) as conn:
        conn.execute(statement)


@contextlib.contextmanager
def scratch_database(settings_module: str = "config.settings.test") -> Iterator[str]:
    """A new database for this run (dropped at the end); Django set up against it."""
    base_url = os.environ["DATABASE_URL"]
    name = f"quayside_bench_{os.getpid()}"
    _admin_execute(base_url, f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = _with_database(base_url, name)
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    os.environ.setdefault("QS_TEST_RUN_ID", f"bench-{os.getpid()}")
    os.environ.setdefault("CACHE_KEY_PREFIX", f"qs-bench-{os.getpid()}")
    try:
        import django

        django.setup()
        yield os.environ["DATABASE_URL"]
    finally:
        from django.db import connections

        connections.close_all()
        _admin_execute(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        os.environ["DATABASE_URL"] = base_url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def web_server(*, workers: int = 2, env: dict[str, str] | None = None) -> Iterator[str]:
    """gunicorn serving the project on a free loopback port; yields its base URL."""
    import httpx

    port = free_port()
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the web server did not start")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
