"""Worker liveness: each Celery worker writes a timestamp to Redis every 15 s; /readyz reads it."""

from __future__ import annotations

import contextlib
import logging
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
    def __init__(self, worker: str, interval_s: float) -> None:
        super().__init__(name="quayside-heartbeat", daemon=True)
        self.worker = worker
        self.interval_s = interval_s
        self.stopped = threading.Event()

    def run(self) -> None:
        client = redis_client()
        while not self.stopped.is_set():
            try:
                heartbeat_write(self.worker, client=client)
            except redis.RedisError:
                logger.warning("Could not write the worker heartbeat", exc_info=True)
            self.stopped.wait(self.interval_s)


_thread: HeartbeatThread | None = None


def on_worker_ready(sender=None, **kwargs) -> None:
    global _thread
    name = getattr(sender, "hostname", None) or socket.gethostname()
    _thread = HeartbeatThread(name, settings.WORKER_HEARTBEAT_INTERVAL_S)
    _thread.start()


def on_worker_shutdown(sender=None, **kwargs) -> None:
    if _thread is not None:
        _thread.stopped.set()
        with contextlib.suppress(redis.RedisError):
            heartbeat_remove(_thread.worker)
