"""Worker liveness: each Celery worker writes a timestamp to Redis every 15 s; /readyz reads it.

The same thread reports the worker as a Node (apps/core/nodes.py: CPU, memory, last seen) for
the operator console; Celery beat runs one too, reporting its node only."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time

import redis
from django.conf import settings

logger = logging.getLogger(__name__)


def heartbeat_key() -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', 'qs')}:worker-heartbeats"


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def heartbeat_write(worker: str, *, client: redis.Redis | None = None) -> None:
    (client or redis_client()).hset(heartbeat_key(), worker, f"{time.time():.3f}")


def heartbeat_remove(worker: str) -> None:
    redis_client().hdel(heartbeat_key(), worker)


def heartbeats() -> dict[str, float]:
    """Worker name -> seconds since its last beat."""
    now = time.time()
    raw = redis_client().hgetall(heartbeat_key())
    return {k.decode(): now - float(v) for k, v in raw.items()}


class HeartbeatThread(threading.Thread):
    def __init__(
        self, worker: str, interval_s: float, *, kind: str = "worker", root_pid: int | None = None
    ) -> None:
        super().__init__(name="quayside-heartbeat", daemon=True)
        self.worker = worker
        self.interval_s = interval_s
        self.kind = kind
        self.root_pid = root_pid or os.getpid()
        self.stopped = threading.Event()

    def run(self) -> None:
        from django.db import connection

        from . import nodes

        client = redis_client()
        sampler = nodes.ProcessTreeSampler(self.root_pid)
        try:
            while not self.stopped.is_set():
                if self.kind == "worker":
                    try:
                        heartbeat_write(self.worker, client=client)
                    except redis.RedisError:
                        logger.warning("Could not write the worker heartbeat", exc_info=True)
                nodes.node_report_quietly(
                    name=self.worker, kind=self.kind, usage=sampler.sample(), pid=self.root_pid
                )
                self.stopped.wait(self.interval_s)
        finally:
            connection.close()


_thread: HeartbeatThread | None = None


def on_worker_ready(sender=None, **kwargs) -> None:
    global _thread
    name = getattr(sender, "hostname", None) or socket.gethostname()
    _thread = HeartbeatThread(name, settings.WORKER_HEARTBEAT_INTERVAL_S)
    _thread.start()


def on_beat_init(sender=None, **kwargs) -> None:
    global _thread
    _thread = HeartbeatThread(
        f"beat@{socket.gethostname()}", settings.WORKER_HEARTBEAT_INTERVAL_S, kind="beat"
    )
    _thread.start()


def on_worker_shutdown(sender=None, **kwargs) -> None:
    if _thread is not None:
        _thread.stopped.set()
        with contextlib.suppress(redis.RedisError):
            heartbeat_remove(_thread.worker)


def _web_root_pid() -> int:
    """The gunicorn master when this is one of its workers (the node is the whole server)."""
    import psutil

    try:
        parent = psutil.Process(os.getppid())
        if "gunicorn" in " ".join(parent.cmdline()):
            return parent.pid
    except psutil.Error:
        pass
    return os.getpid()


def start_web_reporter() -> None:
    """From config/wsgi.py: report this web server as the node `web@<host>`. Each gunicorn
    worker runs one (they write the same row, measuring the master's whole process tree)."""
    global _thread
    if _thread is not None:
        return
    _thread = HeartbeatThread(
        f"web@{socket.gethostname()}",
        settings.WORKER_HEARTBEAT_INTERVAL_S,
        kind="web",
        root_pid=_web_root_pid(),
    )
    _thread.start()
