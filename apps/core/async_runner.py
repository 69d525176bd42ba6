"""Async jobs run from a thread that owns the database: the check scheduler
(apps/monitoring/scheduler.py) and the outgoing webhook deliverer (apps/webhooks/delivery.py).

1. AsyncRunner: an asyncio loop in a helper thread. The calling thread submits jobs (a key, a
   coroutine function of no arguments, and a context it wants back); at most `limit` run at
   once; each finished job's result lands in a queue that the calling thread drains with
   finished(), which hands back (context, result) of the jobs still in `in_flight`.
2. Pipeline: the drive loop of a worker built on a runner. Each turn it
   claims work (claim(): the subclass's policy, it submits jobs), collects finished jobs
   (finished(), waiting up to wait_s()), writes the buffer (flush()) every `flush_s` or as soon as
   nothing is in flight, and asks stop() whether to end (stop() may sleep). What is still
   buffered at the end, or when something raises, is flushed before the runner closes.
   `limit` and the deadline (now + `budget_s`) are the pipeline's; `counters` its result.

Only the calling thread touches the database; the jobs touch nothing but the network."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Awaitable, Callable

from django.db import connection

logger = logging.getLogger(__name__)

Job = Callable[[], Awaitable]


class AsyncRunner:
    """An asyncio loop in a helper thread running submitted jobs; see the module docstring."""

    def __init__(self, *, limit: int | None = None) -> None:
        self.in_flight: dict = {}  # key -> context, for the calling thread only
        self.done: queue.Queue = queue.Queue()
        self.loop = asyncio.new_event_loop()
        self.tasks: set = set()
        self.semaphore: asyncio.Semaphore | None = None
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        if limit:
            self.call(self._setup(limit))

    async def _setup(self, limit: int) -> None:
        self.semaphore = asyncio.Semaphore(limit)

    async def _run(self, key, job: Job) -> None:
        result = None
        try:
            async with self.semaphore or contextlib.nullcontext():
                result = await job()
        except Exception:  # a bug must not leave the key in flight for ever
            logger.exception("Async job %r failed", key)
        finally:
            self.done.put((key, result))

    def _start_all(self, jobs: list) -> None:
        for key, job in jobs:
            task = self.loop.create_task(self._run(key, job))
            self.tasks.add(task)  # the loop keeps only weak references to tasks
            task.add_done_callback(self.tasks.discard)

    def submit_many(self, jobs: list) -> None:
        """Start jobs [(key, job, context)]: one wake-up of the loop for the whole batch. A job
        that raises hands back None."""
        if jobs:
            for key, _job, context in jobs:
                self.in_flight[key] = context
            self.loop.call_soon_threadsafe(self._start_all, [(key, job) for key, job, _ in jobs])

    def submit(self, key, job: Job, context=None) -> None:
        self.submit_many([(key, job, context)])

    def finished(self, *, timeout: float = 0.0) -> list[tuple]:
        """[(context, result)] of the jobs finished since the last call, waiting up to
        `timeout` for the first one; results of keys no longer in flight are dropped."""
        out = []
        while True:
            try:
                key, result = self.done.get(timeout=timeout) if timeout else self.done.get_nowait()
            except queue.Empty:
                return out
            timeout = 0
            if key in self.in_flight:
                out.append((self.in_flight.pop(key), result))

    def call(self, coroutine: Awaitable, *, timeout: float | None = None):
        """Run one coroutine on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self, cleanup: Callable[[], Awaitable] | None = None) -> None:
        """Stop the loop (after awaiting `cleanup()` on it, up to 10 s); jobs still running
        are abandoned."""
        try:
            if cleanup is not None:
                self.call(cleanup(), timeout=10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            self.loop.close()


class Pipeline:
    """The drive loop (see the module docstring). Subclasses give the policy: claim(),
    wait_s(), finished(), flush() and stop(); `buffer` is theirs to fill."""

    flush_s: float = 0.5

    def __init__(self, *, budget_s: float, limit: int | None = None) -> None:
        self.deadline = time.monotonic() + budget_s  # after it, nothing more is claimed
        self.runner = AsyncRunner(limit=limit)
        self.buffer: list = []
        self.counters: dict[str, int] = {}
        self.last_flush = time.monotonic()

    def claim(self, now: float) -> int:
        """Claim and submit work if the policy says so (`now`: time.monotonic() at the start
        of this turn); returns how many were claimed."""
        raise NotImplementedError

    def wait_s(self, claimed: int) -> float:
        """How long to wait for the first finished job (0: take what is there)."""
        raise NotImplementedError

    def finished(self, context, result) -> None:
        """One finished job (into `buffer`, typically)."""
        raise NotImplementedError

    def flush(self, buffer: list) -> None:
        """Write the buffer."""
        raise NotImplementedError

    def stop(self, claimed: int) -> bool:
        """At the end of a turn: True ends the run (it may sleep first)."""
        raise NotImplementedError

    def close(self) -> None:
        self.runner.close()

    def flush_at(self) -> float | None:
        """When the buffer is next due to be written (None: it is empty)."""
        return self.last_flush + self.flush_s if self.buffer else None

    def run(self) -> dict[str, int]:
        """Drive until stop() says so; returns `counters`. The calling thread works on the
        public schema (where the claimable rows are), and is left there."""
        connection.set_schema_to_public()
        try:
            while True:
                claimed = self.claim(time.monotonic())
                if self.runner.in_flight:
                    for context, result in self.runner.finished(timeout=self.wait_s(claimed)):
                        self.finished(context, result)
                if self.buffer and (
                    time.monotonic() - self.last_flush >= self.flush_s or not self.runner.in_flight
                ):
                    self._flush()
                if self.stop(claimed):
                    break
        finally:
            try:
                if self.buffer:
                    self._flush()
                self.close()
            finally:
                connection.set_schema_to_public()
        return self.counters

    def _flush(self) -> None:
        self.flush(self.buffer)
        self.buffer = []
        self.last_flush = time.monotonic()
