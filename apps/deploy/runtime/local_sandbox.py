"""The local provider's sandboxed half: starting processes, running build steps and release
commands in each app's sandbox, and reading what the sandbox saw (exits, usage).

LocalProvider (local.py) calls these when DEPLOY_SANDBOX is on; with it off, it runs
processes as DEPLOY_RUN_AS_USER on the host's network as it always did."""

from __future__ import annotations

import os
import shlex
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import app_mounts, forward, launch
from .base import ProcessExit, ReleaseSpec, ResourceLimits, RuntimeProblem, UsageSample
from .process import RunAs
from .sandbox import AppSandbox, Mount, Sandbox, network
from .supervisor import ProgramConfig

if TYPE_CHECKING:
    from .local import LocalProvider

PORT_BASE = 5000
PORT_STRIDE = 100  # ports of one deployment: base + process number


def net_program(app_key: str) -> str:
    return f"net-{app_key}"


def prepare_app(provider: LocalProvider, app_key: str, limits: ResourceLimits) -> AppSandbox:
    """The app's sandbox in place: uid, disk, namespace, and its network under supervisord."""
    sandbox = _sandbox(provider)
    box = sandbox.prepare_app(app_key, limits)
    name = net_program(app_key)
    states = {p["group"]: p["statename"] for p in provider.supervisor.processes()}
    if name in states and states[name] not in ("RUNNING", "STARTING"):
        provider.supervisor.start(name)  # e.g. it gave up while the namespace was missing
        network.wait_for_tap(app_key)
    elif name not in states:
        log_dir = provider.root / "logs" / app_key
        log_dir.mkdir(parents=True, exist_ok=True)
        provider.supervisor.write_program(
            ProgramConfig(
                name=name,
                command=" ".join(shlex.quote(p) for p in sandbox.slirp_command(app_key)),
                directory="/",
                stop_wait_s=5,
                log_file=str(log_dir / "network.log"),
            )
        )
        provider.supervisor.add(name)
        network.wait_for_tap(app_key)
    bind_dir = provider.root / "bind" / app_key
    bind_dir.mkdir(parents=True, exist_ok=True)
    os.chown(bind_dir, box.uid, box.uid)
    os.chmod(bind_dir, 0o700)
    return box


def _sandbox(provider: LocalProvider) -> Sandbox:
    if provider.sandbox is None:
        raise RuntimeProblem("The sandbox is off (DEPLOY_SANDBOX=off).")
    return provider.sandbox


def mounts_for(provider: LocalProvider, box: AppSandbox, *, build: bool = False) -> list[Mount]:
    """The app's own disk (its builds, virtualenvs, caches and home) and its sockets, writable;
    its add-ons' socket directories (app_mounts.py), read-only; for builds also Quayside's copy
    of pip, read-only."""
    mounts = [
        Mount(str(box.app_dir), writable=True),
        Mount(str(provider.root / "bind" / box.app_key), writable=True),
    ]
    mounts += [Mount(m.source, m.target) for m in app_mounts.app_mounts(box.app_key, provider.root)]
    tools = provider.root / "tools"
    if build and tools.is_dir():
        mounts.append(Mount(str(tools)))
    if build:
        mounts += [Mount(path) for path in operator_package_dirs()]
    return mounts


def operator_package_dirs() -> list[str]:
    """Local directories of the operator's package sources (pip's find-links and file://
    indexes, e.g. a wheelhouse for an offline machine): builds see them read-only."""
    from .builders.python import operator_pip_env

    found = []
    for name in ("PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        for part in operator_pip_env().get(name, "").split():
            path = part[len("file://") :] if part.startswith("file://") else part
            path = os.path.realpath(path.rstrip("/") or "/")
            if path.endswith("/simple"):  # a PEP 503 index links to files beside it
                path = os.path.dirname(path)
            if path != "/" and os.path.isdir(path) and path not in found:
                found.append(path)
    return found


def run_dir(provider: LocalProvider, app_key: str, deployment_key: str) -> Path:
    """Root's own files of a deployment (launch scripts, environment): not on the app's disk."""
    path = provider.root / "run" / app_key / deployment_key
    path.mkdir(parents=True, exist_ok=True)
    for parent in (provider.root / "run", provider.root / "run" / app_key, path):
        os.chmod(parent, 0o700)
    return path


def build_runner(
    provider: LocalProvider,
    box: AppSandbox,
    limits: ResourceLimits,
    cgroup_name: str,
    *,
    read_only: Sequence[str] = (),
    writable: Sequence[str] = (),
) -> RunAs:
    """A RunAs whose commands run in the app's sandbox (for run_streamed), seeing the app's own
    directories and, beyond them, `read_only` and `writable` host paths."""
    sandbox = _sandbox(provider)
    scratch = run_dir(provider, box.app_key, cgroup_name)
    mounts = mounts_for(provider, box, build=True)
    covered = {m.source for m in mounts}
    mounts += [Mount(p) for p in read_only if p not in covered and not _inside(p, covered)]
    mounts += [
        Mount(p, writable=True) for p in writable if p not in covered and not _inside(p, covered)
    ]

    def wrap(command: list[str], cwd: str, env: dict[str, str]) -> tuple[list[str], dict]:
        env_file = scratch / f"env-{os.getpid()}-{time.monotonic_ns()}"
        launch.write_env_args(env_file, env)
        script = launch.command_script(
            sandbox=sandbox,
            box=box,
            limits=limits,
            cgroup_name=cgroup_name,
            mounts=mounts,
            env_file=env_file,
            argv=command,
            cwd=cwd,
        )
        # The script opens the file on fd 3 and removes it before the command runs.
        return ["/bin/sh", "-c", script], {"PATH": launch.ROOT_PATH}

    return RunAs(name=f"app-{box.uid}", uid=box.uid, gid=box.uid, wrap=wrap)


def _inside(path: str, parents: set[str]) -> bool:
    return any(path.startswith(parent.rstrip("/") + "/") for parent in parents)


def choose_port_base(provider: LocalProvider, app_key: str, deployment_key: str) -> int:
    """$PORT of a deployment's processes: a block no other live deployment of the app uses
    (they share the app's network namespace)."""
    used = set()
    app_run = provider.root / "run" / app_key
    for other in app_run.glob("*/port"):
        if other.parent.name != deployment_key:
            try:
                used.add(int(other.read_text()))
            except ValueError:
                continue
    base = PORT_BASE
    while base in used:
        base += PORT_STRIDE
    (run_dir(provider, app_key, deployment_key) / "port").write_text(str(base))
    return base


def start(provider: LocalProvider, spec: ReleaseSpec, environment) -> list[str]:
    """Write and add the release's programs; their names."""
    sandbox = _sandbox(provider)
    box = prepare_app(provider, spec.app_key, spec.limits)
    directory = run_dir(provider, spec.app_key, spec.deployment_key)
    bind_dir = provider.root / "bind" / spec.app_key
    log_dir = provider.root / "logs" / spec.app_key
    log_dir.mkdir(parents=True, exist_ok=True)
    base_port = choose_port_base(provider, spec.app_key, spec.deployment_key)
    programs: list[str] = []
    for process_type, command in sorted(spec.artefact.process_types.items()):
        count = spec.formation.get(process_type, 0)
        if count <= 0:
            continue
        name = provider.program(spec.app_key, spec.deployment_key, process_type)
        env_file = directory / f"{process_type}.env"
        launch.write_env_args(env_file, environment(spec, process_type))
        inner = ['export QUAYSIDE_PROCESS_NUM="$1"', 'export PORT="$(($2 + $1))"']
        if process_type == "web":
            prefix = shlex.quote(str(bind_dir / f"{spec.deployment_key}-web-"))
            inner.append(f'export QUAYSIDE_SOCKET={prefix}"$1".sock')
            inner.append('rm -f "$QUAYSIDE_SOCKET"')
            inner += forward.launch_lines(command)  # $PORT apps: socat from the socket
        inner.append(f"cd {shlex.quote(spec.artefact.source_dir)} || exit 1")
        inner.append(f"exec /bin/sh -c {shlex.quote(command)}")
        script = directory / f"{process_type}.sh"
        script.write_text(
            launch.process_script(
                sandbox=sandbox,
                box=box,
                limits=spec.limits,
                cgroup_name=f"{spec.deployment_key}-{process_type}-$1",
                mounts=mounts_for(provider, box)
                + [Mount(path) for path in spec.artefact.read_only_paths],
                env_file=env_file,
                inner="\n".join(inner),
                cwd=spec.artefact.source_dir,
                state_file=shlex.quote(str(directory / f"{process_type}.crashes.")),
                exits_log=exits_log(provider),
                labels=(spec.app_key, spec.deployment_key, process_type),
            )
        )
        os.chmod(script, 0o700)
        provider.supervisor.write_program(
            ProgramConfig(
                name=name,
                command=(
                    f"/usr/bin/env -i /bin/sh {str(script).replace('%', '%%')} "
                    f"%(process_num)d {base_port}"
                ),
                directory="/",
                numprocs=count,
                stop_wait_s=provider.stop_wait_s,
                log_file=str(log_dir / f"{spec.deployment_key}-{process_type}-%(process_num)d.log"),
            )
        )
        programs.append(name)
    for name in programs:
        provider.supervisor.add(name)
    return programs


def backoff(
    provider: LocalProvider, program: tuple[str, str, str], index: int, up_s: int
) -> tuple[str, str] | None:
    """(state, description) of a process supervisord calls RUNNING or STARTING (its launch
    script up `up_s` seconds) while the script waits out its restart backoff after crashes
    (launch.py: 1, 2, 4 … 30 s), BACKOFF, or has just started it again, STARTING for
    supervisord's startsecs (1 s). None when the process is in fact up."""
    app_key, deployment_key, process_type = program
    state = provider.root / "run" / app_key / deployment_key / f"{process_type}.crashes.{index}"
    try:
        crashes = int(state.read_text().strip() or 0)
    except (OSError, ValueError):
        return None
    if crashes <= 0:
        return None
    delay = 30 if crashes > 5 else 1 << (crashes - 1)
    if up_s < delay:
        return "BACKOFF", (
            f"crashed {crashes} time(s) in a row; restarting in {delay - up_s} s "
            "(its log may say why)"
        )
    if up_s < delay + 1:
        return "STARTING", f"restarting after {crashes} crash(es)"
    return None


def exits_log(provider: LocalProvider) -> Path:
    return provider.root / "sandbox" / "exits.log"


def read_exits(provider: LocalProvider, cursor: str) -> tuple[list[ProcessExit], str]:
    """Exit records after `cursor` ("<inode>:<offset>"); the log starts over when it passes
    1 MB and everything in it was read."""
    path = exits_log(provider)
    try:
        stat = path.stat()
    except OSError:
        return [], cursor
    inode, _, offset_text = cursor.partition(":")
    offset = int(offset_text) if offset_text.isdigit() and inode == str(stat.st_ino) else 0
    if offset > stat.st_size:
        offset = 0
    with open(path, "rb") as handle:
        handle.seek(offset)
        data = handle.read()
    complete, _, _rest = data.rpartition(b"\n")
    consumed = len(complete) + 1 if complete else 0
    out: list[ProcessExit] = []
    for line in complete.decode("utf-8", "replace").splitlines():
        parts = line.split()
        if len(parts) != 7 or not parts[0].isdigit() or not parts[4].isdigit():
            continue
        at, app_key, deployment_key, process_type, index, status, reason = parts
        code = int(status) if status.lstrip("-").isdigit() else None
        signal = code - 128 if code is not None and code > 128 else None
        out.append(
            ProcessExit(
                app_key=app_key,
                deployment_key=deployment_key,
                process_type=process_type,
                index=int(index),
                at=float(at),
                reason=reason if reason in ("oom_killed", "crashed") else "crashed",
                exit_code=None if signal else code,
                signal=signal,
            )
        )
    new_offset = offset + consumed
    if new_offset >= stat.st_size and new_offset > 1024 * 1024:
        path.unlink(missing_ok=True)  # the next record starts a new file (a new inode)
        return out, ""
    return out, f"{stat.st_ino}:{new_offset}"


def usage(provider: LocalProvider, app_key: str | None) -> list[UsageSample]:
    sandbox = _sandbox(provider)
    groups = sandbox.cgroups
    now = time.time()
    out: list[UsageSample] = []
    apps = [app_key] if app_key else [p.name for p in (provider.root / "run").glob("*")]
    for key in apps:
        for name in groups.names(key):
            parts = name.split("-")
            if len(parts) < 3 or not parts[-1].isdigit():
                continue  # build and release groups
            deployment_key, process_type, index = parts[0], "-".join(parts[1:-1]), parts[-1]
            found = groups.usage(key, name)
            if found is None:
                continue
            out.append(
                UsageSample(
                    app_key=key,
                    deployment_key=deployment_key,
                    process_type=process_type,
                    index=int(index),
                    at=now,
                    cpu_ns=found.cpu_ns,
                    memory_bytes=found.memory_bytes,
                    memory_limit_bytes=found.memory_limit_bytes,
                )
            )
    return out


def forget_deployment(provider: LocalProvider, app_key: str, deployment_key: str) -> None:
    sandbox = provider.sandbox
    if sandbox is not None:
        for name in sandbox.cgroups.names(app_key):
            if name.startswith(f"{deployment_key}-"):
                sandbox.cgroups.remove(app_key, name)
    shutil.rmtree(provider.root / "run" / app_key / deployment_key, ignore_errors=True)


def remove_app(provider: LocalProvider, app_key: str) -> None:
    sandbox = provider.sandbox
    if sandbox is None:
        return
    provider.supervisor.remove(net_program(app_key))
    sandbox.remove_app(app_key)
    shutil.rmtree(provider.root / "run" / app_key, ignore_errors=True)
