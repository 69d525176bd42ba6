"""Running a test's piece of work in a thread of its own, as a worker process would, and
raising here what it raised: Playwright's sync API keeps a running event loop in the main
thread once a browser test has started, so async clients (anyio.run) and the webhook
deliverer's own loop must run elsewhere."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


def run_in_thread(call: Callable[[], object], *, timeout_s: float = 30.0) -> None:
    failure: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # re-raised below
            failure.append(exc)
        finally:
            connection.close()  # the thread's own database connection

    thread = threading.Thread(target=run, name="test-worker")
    thread.start()
    thread.join(timeout_s)
    assert not thread.is_alive(), f"the work did not finish within {timeout_s:g} s"
    if failure:
        raise failure[0]
