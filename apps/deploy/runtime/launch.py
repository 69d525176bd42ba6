"""Launch scripts: how the local provider starts an app's process under supervisord, and
how it wraps a build step or release command, in the sandbox.

A process's launch script runs as root with an empty environment (supervisord starts it with
`env -i`, so nothing of Quayside's own environment, such as DATABASE_URL, reaches an app):
    1. waits out its restart backoff (after a crash: 1, 2, 4 … 30 s; reset after 60 s up),
    2. moves itself into the process's cgroup (limits from the plan),
    3. runs the sandboxed process (sandbox/command.py) and waits for it,
    4. when the process ended on its own, appends an exit record to R/sandbox/exits.log: the
       reason is `oom_killed` when the cgroup's OOM kill count went up, else `crashed`.
The app's environment (its config vars, secrets included) reaches the sandbox through a file
descriptor (`bwrap --args`), never a command line (which `ps` shows) and never a root
process's environment (a tenant's LD_PRELOAD must not load into nsenter or setpriv)."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from .base import ResourceLimits
from .sandbox import AppSandbox, Invocation, Mount, Sandbox
from .sandbox.command import shell_line

ROOT_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
ENV_FD = 3


def write_env_args(path: Path, env: dict[str, str]) -> None:
    """The app's environment as bwrap arguments (NUL-separated), readable by root only."""
    parts: list[str] = []
    for key, value in sorted(env.items()):
        if "\0" in key or "\0" in value or "=" in key:
            continue
        parts += ["--setenv", key, value]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(b"".join(part.encode() + b"\0" for part in parts))
    os.chmod(path, 0o600)


def _exec_line(inv: Invocation, env_file: Path | None, extra_args: str = "") -> str:
    """The sandboxed command, with the environment read from `env_file` on fd 3 (None: fd 3
    is already open)."""
    line = shell_line(inv)
    # bwrap reads the --setenv arguments from the fd where --args stands: after --clearenv.
    line = line.replace(" --clearenv ", f" --clearenv --args {ENV_FD} ", 1)
    if env_file is None:
        return f"{line}{extra_args}"
    return f"{line}{extra_args} {ENV_FD}< {shlex.quote(str(env_file))}"


def process_script(
    *,
    sandbox: Sandbox,
    box: AppSandbox,
    limits: ResourceLimits,
    cgroup_name: str,
    mounts: list[Mount],
    env_file: Path,
    inner: str,
    cwd: str,
    state_file: str,
    exits_log: Path,
    labels: tuple[str, str, str],
) -> str:
    """The launch script of one program (supervisord passes the process number as $1 and the
    base port as $2). `inner` runs inside the sandbox with $1 and $2 as its arguments."""
    app_key, deployment_key, process_type = labels
    inv = sandbox.invocation(
        box,
        argv=["/bin/sh", "-c", inner, "launch"],
        env={},
        cwd=cwd,
        mounts=mounts,
        limits=limits,
    )
    oom = sandbox.cgroups.oom_kill_count_command(app_key, cgroup_name)
    lines = [
        "#!/bin/sh",
        "# Written by Quayside (apps/deploy/runtime/launch.py) for one deployment.",
        f"export PATH={ROOT_PATH}",
        f'state={state_file}"$1"',
        'crashes=$(cat "$state" 2>/dev/null || echo 0)',
        'case "$crashes" in ""|*[!0-9]*) crashes=0;; esac',
        'if [ "$crashes" -gt 0 ]; then',
        "  delay=$(( crashes > 5 ? 30 : (1 << (crashes - 1)) ))",
        '  echo "quayside: restarting after a crash in ${delay} s"',
        '  sleep "$delay"',
        "fi",
        *sandbox.cgroups.join_lines(app_key, cgroup_name, limits),
        f"before=$({oom}); before=${{before:-0}}",
        "stopping=''",
        "trap 'stopping=1; kill -TERM \"$child\" 2>/dev/null' TERM INT HUP",
        "started=$(date +%s)",
        _exec_line(inv, env_file, ' "$1" "$2"') + " &",
        "child=$!",
        'wait "$child"; status=$?',
        'while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done',
        '[ -n "$stopping" ] && exit "$status"',
        f"after=$({oom}); after=${{after:-0}}",
        'reason=crashed; [ "$after" -gt "$before" ] && reason=oom_killed',
        f'echo "$(date +%s) {app_key} {deployment_key} {process_type} $1 $status $reason"'
        f" >> {shlex.quote(str(exits_log))}",
        "if [ $(( $(date +%s) - started )) -ge 60 ]; then crashes=1; "
        "else crashes=$((crashes + 1)); fi",
        'echo "$crashes" > "$state"',
        'exit "$status"',
    ]
    return "\n".join(lines) + "\n"


def command_script(
    *,
    sandbox: Sandbox,
    box: AppSandbox,
    limits: ResourceLimits,
    cgroup_name: str,
    mounts: list[Mount],
    env_file: Path,
    argv: list[str],
    cwd: str,
) -> str:
    """A one-off command (a build step, a release command) in the sandbox, as `sh -c` text.
    The environment file is opened on fd 3 and removed before the command runs: a one-off's
    file is read once, and would otherwise pile up under the app's run dir."""
    inv = sandbox.invocation(box, argv=argv, env={}, cwd=cwd, mounts=mounts, limits=limits)
    lines = [*sandbox.cgroups.join_lines(box.app_key, cgroup_name, limits)]
    quoted = shlex.quote(str(env_file))
    lines.append(f"exec {ENV_FD}< {quoted}")
    lines.append(f"rm -f {quoted}")
    lines.append("exec " + _exec_line(inv, None))
    return "\n".join(lines) + "\n"
