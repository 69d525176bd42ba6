"""Running commands for builds and release phases: output streamed line by line to a log sink,
a time limit, the whole process group killed on timeout, and an unprivileged user when
Quayside runs as root."""

from __future__ import annotations

import contextlib
import os
import pwd
import selectors
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .base import LogSink, RuntimeProblem, Tick

MAX_LINE = 4000


@dataclass(frozen=True)
class RunAs:
    """The user apps run as: None when Quayside is not root (everything runs as itself)."""

    name: str
    uid: int
    gid: int
    # The sandbox (local_sandbox.build_runner): turns (command, cwd, env) into the command
    # that runs it sandboxed and the environment of that (root's) command.
    wrap: Callable[[list[str], str, dict[str, str]], tuple[list[str], dict[str, str]]] | None = None

    @classmethod
    def resolve(cls, name: str) -> RunAs | None:
        if os.geteuid() != 0 or not name:
            return None
        try:
            entry = pwd.getpwnam(name)
        except KeyError as exc:
            raise RuntimeProblem(
                f"Quayside runs as root and apps should run as '{name}', which does not exist: "
                "create it or set DEPLOY_RUN_AS_USER."
            ) from exc
        return cls(name=name, uid=entry.pw_uid, gid=entry.pw_gid)


def chown(path: str | Path, run_as: RunAs | None, *, recursive: bool = False) -> None:
    if run_as is None:
        return
    os.chown(path, run_as.uid, run_as.gid)
    if recursive:
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                os.lchown(os.path.join(root, name), run_as.uid, run_as.gid)


def run_streamed(
    command: list[str],
    *,
    cwd: str,
    env: dict[str, str],
    log: LogSink,
    tick: Tick | None = None,
    timeout_s: float,
    run_as: RunAs | None = None,
    what: str = "command",
) -> int:
    """Run `command`, sending each output line to `log`; its exit status. Raises RuntimeProblem
    when it outlives `timeout_s` (after killing its whole process group)."""
    kwargs: dict = {}
    if run_as is not None and run_as.wrap is not None:
        command, env = run_as.wrap(command, cwd, env)
        cwd = "/"
    elif run_as is not None:
        kwargs.update(user=run_as.uid, group=run_as.gid, extra_groups=[])
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        **kwargs,
    )
    deadline = time.monotonic() + timeout_s
    buffer = b""
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    try:
        while True:
            if time.monotonic() > deadline:
                _kill_group(process)
                raise RuntimeProblem(f"The {what} took longer than {timeout_s:.0f} s.")
            if tick is not None:
                tick()
            events = selector.select(timeout=0.5)
            if not events:
                if process.poll() is not None:
                    break
                continue
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                break
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                log(line.decode("utf-8", "replace").rstrip("\r")[:MAX_LINE])
        if buffer:
            log(buffer.decode("utf-8", "replace").rstrip("\r")[:MAX_LINE])
        remaining = max(0.1, deadline - time.monotonic())
        try:
            return process.wait(timeout=remaining)
        except subprocess.TimeoutExpired as exc:
            _kill_group(process)
            raise RuntimeProblem(f"The {what} took longer than {timeout_s:.0f} s.") from exc
    finally:
        selector.close()
        process.stdout.close()
        if process.poll() is None:
            _kill_group(process)


def _kill_group(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)
