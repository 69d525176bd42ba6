"""A runtime provider whose process exits, usage samples and process list the test scripts: a
subclass of our own RuntimeProvider interface (apps/deploy/runtime/base.py), standing in for
the cgroups that the local provider reads them from. The database, the cache and the outbox
stay real. Everything the pipeline would ask of it raises: these tests never deploy.

`scripted(settings)` makes one and makes it the provider `get_provider()` returns (what the
API views and the beat task use), under a name of its own, so its exits cursor in the cache is
the test's own too."""

from __future__ import annotations

import time
import uuid

from apps.deploy import runtime as runtime_package
from apps.deploy.runtime.base import (
    ProcessExit,
    ProcessStatus,
    RuntimeProvider,
    UsageSample,
)

_current: ScriptedProvider | None = None


def current() -> ScriptedProvider:
    """What `get_provider()` makes of PROVIDERS["scripted-…"] (the path names this function)."""
    assert _current is not None
    return _current


class ScriptedProvider(RuntimeProvider):
    def __init__(self) -> None:
        self.name = f"scripted-{uuid.uuid4().hex[:8]}"
        self.exits: list[ProcessExit] = []
        self.samples: list[UsageSample] = []
        self.processes: list[ProcessStatus] = []
        self.cursors_seen: list[str] = []
        # True: answers every exit it has, whatever the cursor (a runtime that lost its place).
        self.forgetful = False

    # What the sampler and the views read.
    def process_exits(self, cursor: str) -> tuple[list[ProcessExit], str]:
        self.cursors_seen.append(cursor)
        start = 0 if self.forgetful or not cursor else int(cursor)
        return list(self.exits[start:]), str(len(self.exits))

    def usage(self, app_key: str | None = None) -> list[UsageSample]:
        return [s for s in self.samples if app_key in (None, s.app_key)]

    def status(self, app_key: str | None = None) -> list[ProcessStatus]:
        return [p for p in self.processes if app_key is None or p.name.startswith(f"q-{app_key}")]

    # Scripting.
    def exit(self, app, deployment_key: str, process_type: str = "web", index: int = 0, *,
             reason: str = "oom_killed", at: float | None = None, exit_code=None,
             signal=9) -> ProcessExit:  # fmt: skip
        item = ProcessExit(
            app_key=app.pk.hex, deployment_key=deployment_key, process_type=process_type,
            index=index, at=at if at is not None else time.time(), reason=reason,
            exit_code=exit_code, signal=signal,
        )  # fmt: skip
        self.exits.append(item)
        return item

    def sample(self, app, deployment_key: str, process_type: str = "web", index: int = 0, *,
               at: float, cpu_ns: int, memory_bytes: int,
               memory_limit_bytes: int | None = 256 * 1024 * 1024) -> None:  # fmt: skip
        self.samples.append(
            UsageSample(
                app_key=app.pk.hex, deployment_key=deployment_key, process_type=process_type,
                index=index, at=at, cpu_ns=cpu_ns, memory_bytes=memory_bytes,
                memory_limit_bytes=memory_limit_bytes,
            )
        )  # fmt: skip

    def running(self, app, deployment_key: str, process_type: str = "web", index: int = 0):
        self.processes.append(
            ProcessStatus(
                name=f"q-{app.pk.hex}-{deployment_key}-{process_type}-{index}",
                deployment_key=deployment_key, process_type=process_type, index=index,
                state="RUNNING", pid=4242, uptime_s=60, cpu_s=1.0, memory_bytes=50_000_000,
            )
        )  # fmt: skip

    # The rest of the interface: not for these tests.
    def _not_here(self, *args, **kwargs):
        raise NotImplementedError("the scripted runtime only reports processes")

    ensure_ready = source_dir = prepare = run = start = ensure_running = _not_here
    health = route = routed_to = sync_routes = stop = logs = _not_here
    program_keys = remove_app = _not_here


def scripted(settings, monkeypatch) -> ScriptedProvider:
    global _current
    _current = provider = ScriptedProvider()
    monkeypatch.setitem(
        runtime_package.PROVIDERS, provider.name, "tests.deploy.scripted_runtime.current"
    )
    settings.DEPLOY_PROVIDER = provider.name
    return provider
