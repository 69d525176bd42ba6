"""Nodes: each Celery worker and beat, and the runtime host, report what they are and how busy
every WORKER_HEARTBEAT_INTERVAL_S (apps/core/heartbeat.py starts the reporting thread).

A report is one INSERT ... ON CONFLICT (name) DO UPDATE, so thousands of reports cost nothing
measurable. Reports never raise into the reporter: a failure is logged and the next one tries
again."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
from dataclasses import dataclass, field

import psutil
from django.conf import settings
from django.db import connection
from django.utils import timezone

from .models import Node

logger = logging.getLogger(__name__)


@dataclass
class Usage:
    cpu_pct: float | None = None
    memory_rss_bytes: int | None = None
    memory_pct: float | None = None
    load_1m: float | None = None
    started_at: dt.datetime | None = None
    details: dict = field(default_factory=dict)


class ProcessTreeSampler:
    """CPU and memory of a process and its children (a prefork worker's pool, supervisord's
    programs). psutil measures CPU between two calls on the same Process object, so the objects
    are kept from one sample to the next; the first sample of a process reads 0 %."""

    def __init__(self, pid: int | None = None) -> None:
        self.pid = pid or os.getpid()
        self._seen: dict[int, psutil.Process] = {}

    def sample(self) -> Usage:
        try:
            root = psutil.Process(self.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            return Usage()
        cpu = 0.0
        rss = 0
        alive: dict[int, psutil.Process] = {}
        for process in tree:
            process = self._seen.get(process.pid, process)
            try:
                cpu += process.cpu_percent(None)
                rss += process.memory_info().rss
            except psutil.Error:
                continue
            alive[process.pid] = process
        self._seen = alive
        total = psutil.virtual_memory().total
        return Usage(
            cpu_pct=round(cpu, 1),
            memory_rss_bytes=rss,
            memory_pct=round(rss * 100 / total, 2) if total else None,
            load_1m=round(os.getloadavg()[0], 2),
            started_at=dt.datetime.fromtimestamp(root.create_time(), tz=dt.UTC),
            details={"processes": len(alive), "cpu_count": psutil.cpu_count()},
        )


def node_report(*, name: str, kind: str, usage: Usage, pid: int | None = None) -> None:
    """Insert or refresh one node row (one statement, in the public schema)."""
    table = connection.ops.quote_name(Node._meta.db_table)
    sql = f"""
        INSERT INTO {table} AS n (name, kind, hostname, pid, version, cpu_pct, memory_rss_bytes,
            memory_pct, load_1m, started_at, last_seen_at, details)
        VALUES (%(name)s, %(kind)s, %(hostname)s, %(pid)s, %(version)s, %(cpu_pct)s, %(rss)s,
            %(memory_pct)s, %(load_1m)s, %(started_at)s, %(now)s, %(details)s)
        ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, hostname = EXCLUDED.hostname,
            pid = EXCLUDED.pid, version = EXCLUDED.version, cpu_pct = EXCLUDED.cpu_pct,
            memory_rss_bytes = EXCLUDED.memory_rss_bytes, memory_pct = EXCLUDED.memory_pct,
            load_1m = EXCLUDED.load_1m, started_at = EXCLUDED.started_at,
            last_seen_at = EXCLUDED.last_seen_at, details = EXCLUDED.details
    """
    params = {
        "name": name[:200],
        "kind": kind,
        "hostname": socket.gethostname()[:255],
        "pid": pid if pid is not None else os.getpid(),
        "version": settings.QUAYSIDE_VERSION[:50],
        "cpu_pct": usage.cpu_pct,
        "rss": usage.memory_rss_bytes,
        "memory_pct": usage.memory_pct,
        "load_1m": usage.load_1m,
        "started_at": usage.started_at,
        "now": timezone.now(),
        "details": json.dumps(usage.details),
    }
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def node_report_quietly(**kwargs) -> bool:
    """node_report for background threads: logs instead of raising, and drops a broken
    connection so the next report opens a fresh one."""
    try:
        node_report(**kwargs)
        return True
    except Exception:
        logger.warning("Could not report node %s", kwargs.get("name"), exc_info=True)
        if not connection.in_atomic_block:
            try:
                connection.close()
            except Exception:
                logger.debug("Closing the broken connection failed", exc_info=True)
        return False


def nodes_prune(*, now: dt.datetime | None = None) -> int:
    """Delete nodes not seen for NODE_PRUNE_AFTER_DAYS (they are long stale)."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.NODE_PRUNE_AFTER_DAYS)
    deleted, _ = Node.objects.filter(last_seen_at__lt=cutoff).delete()
    return deleted


def stale_cutoff(now: dt.datetime | None = None) -> dt.datetime:
    return (now or timezone.now()) - dt.timedelta(seconds=settings.NODE_STALE_AFTER_S)
