"""cgroup drivers: one group per sandboxed process (and build, and release command), with its
memory, CPU and pids limits, its usage and its OOM kills.

Two drivers with one shape: `CgroupV1` (one hierarchy per controller: memory, cpu, cpuacct,
pids, as mounted on this project's machines) and `CgroupV2` (the unified hierarchy most hosts
have now). Both take the cgroupfs root as a parameter, so the v2 driver is tested on a fake
cgroupfs where only v1 is mounted (tests/deploy/test_sandbox_cgroups.py).

Groups are made by root (the Celery worker or the launch script supervisord runs); a sandboxed
process is moved into its group before it drops privileges, so it and every child it forks
stay in it. Group names: quayside/<app_key>/<name>."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from ..base import ResourceLimits, RuntimeProblem

TOP = "quayside"
CPU_PERIOD_US = 100_000


def cpu_shares(millicores: int) -> int:
    """cgroup v1 cpu.shares for a process's millicores (Kubernetes' conversion)."""
    return max(2, millicores * 1024 // 1000)


def cpu_weight(shares: int) -> int:
    """cgroup v2 cpu.weight for v1 shares (Kubernetes' conversion)."""
    return min(10000, max(1, 1 + (shares - 2) * 9999 // 262142))


def parent_shares() -> tuple[int, int]:
    """Weights of the levels above the processes, (all apps, one app): all apps together weigh
    as much as the host's cores (one nice-0 process per core), each app alike; within an app
    its processes by their millicores. Without them every app would weigh as one process and
    lose to the host's own under load (measured: rps ratio 0.80 unweighted, 1.02 weighted)."""
    return 1024 * (os.cpu_count() or 1), 1024


@dataclass(frozen=True)
class Usage:
    cpu_ns: int
    memory_bytes: int
    memory_limit_bytes: int | None
    oom_kills: int


def _dq(path: Path) -> str:
    """A path in double quotes, for shell lines: names may hold `$1` (supervisord's process
    number, passed to launch scripts); they never hold quotes, `$(`, or backslashes."""
    text = str(path)
    if any(c in text for c in '"`\\') or "$(" in text:
        raise RuntimeProblem(f"Unsafe cgroup path {text!r}.")
    return f'"{text}"'


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _int(text: str, default: int = 0) -> int:
    try:
        return int(text)
    except ValueError:
        return default


class Cgroups:
    """The interface both drivers implement."""

    version = 0

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def relative(self, app_key: str, name: str = "") -> str:
        return f"{TOP}/{app_key}/{name}" if name else f"{TOP}/{app_key}"

    def join_lines(self, app_key: str, name: str, limits: ResourceLimits) -> list[str]:
        """Shell lines that make the group, set its limits and move the shell (`$$`) into it."""
        raise NotImplementedError

    def oom_kill_count_command(self, app_key: str, name: str) -> str:
        """A shell expression printing the group's OOM kill count."""
        raise NotImplementedError

    def usage(self, app_key: str, name: str) -> Usage | None:
        raise NotImplementedError

    def names(self, app_key: str) -> list[str]:
        raise NotImplementedError

    def remove(self, app_key: str, name: str = "") -> None:
        raise NotImplementedError


class CgroupV1(Cgroups):
    version = 1
    CONTROLLERS = ("memory", "cpu", "cpuacct", "pids")

    def _dirs(self, app_key: str, name: str = "") -> dict[str, Path]:
        rel = self.relative(app_key, name)
        return {c: self.root / c / rel for c in self.CONTROLLERS}

    def _settings(self, limits: ResourceLimits) -> dict[str, dict[str, str]]:
        memory = str(limits.memory_mb * 1024 * 1024)
        settings = {
            "memory": {"memory.limit_in_bytes": memory},
            "cpu": {
                "cpu.cfs_period_us": str(CPU_PERIOD_US),
                "cpu.cfs_quota_us": str(limits.cpu_millicores * CPU_PERIOD_US // 1000),
                "cpu.shares": str(cpu_shares(limits.cpu_millicores)),
            },
            "pids": {"pids.max": str(limits.pids)},
        }
        # Without swap accounting a process could page out instead of being held to its limit.
        return settings

    def _weights(self, app_key: str) -> list[tuple[Path, int]]:
        top, app = parent_shares()
        return [(self.root / "cpu" / TOP, top), (self.root / "cpu" / TOP / app_key, app)]

    def join_lines(self, app_key: str, name: str, limits: ResourceLimits) -> list[str]:
        lines = []
        for controller, path in self._dirs(app_key, name).items():
            quoted = _dq(path)
            lines.append(f"mkdir -p {quoted} || exit 70")
            if controller == "cpu":
                for parent, shares in self._weights(app_key):
                    lines.append(f"echo {shares} > {_dq(parent / 'cpu.shares')}")
            for key, value in self._settings(limits).get(controller, {}).items():
                lines.append(f"echo {value} > {quoted}/{key} || exit 70")
            if controller == "memory":
                memory = limits.memory_mb * 1024 * 1024
                lines.append(
                    f"[ -e {quoted}/memory.memsw.limit_in_bytes ] && "
                    f"echo {memory} > {quoted}/memory.memsw.limit_in_bytes"
                )
            lines.append(f"echo $$ > {quoted}/cgroup.procs || exit 70")
        return lines

    def oom_kill_count_command(self, app_key: str, name: str) -> str:
        path = _dq(self._dirs(app_key, name)["memory"] / "memory.oom_control")
        return f"sed -n 's/^oom_kill //p' {path} 2>/dev/null"

    def usage(self, app_key: str, name: str) -> Usage | None:
        dirs = self._dirs(app_key, name)
        if not dirs["memory"].is_dir():
            return None
        limit = _int(_read(dirs["memory"] / "memory.limit_in_bytes"), 0)
        oom = 0
        for line in _read(dirs["memory"] / "memory.oom_control").splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                oom = _int(value)
        return Usage(
            cpu_ns=_int(_read(dirs["cpuacct"] / "cpuacct.usage")),
            memory_bytes=_int(_read(dirs["memory"] / "memory.usage_in_bytes")),
            memory_limit_bytes=limit if 0 < limit < 1 << 62 else None,
            oom_kills=oom,
        )

    def names(self, app_key: str) -> list[str]:
        base = self._dirs(app_key)["memory"]
        try:
            return sorted(p.name for p in base.iterdir() if p.is_dir())
        except OSError:
            return []

    def remove(self, app_key: str, name: str = "") -> None:
        for path in self._dirs(app_key, name).values():
            _rmdir_tree(path)


class CgroupV2(Cgroups):
    version = 2
    CONTROLLERS = "+memory +cpu +pids"

    def _dir(self, app_key: str, name: str = "") -> Path:
        return self.root / self.relative(app_key, name)

    def _settings(self, limits: ResourceLimits) -> dict[str, str]:
        memory = str(limits.memory_mb * 1024 * 1024)
        quota = limits.cpu_millicores * CPU_PERIOD_US // 1000
        return {
            "memory.max": memory,
            "memory.swap.max": "0",
            "cpu.max": f"{quota} {CPU_PERIOD_US}",
            "cpu.weight": str(cpu_weight(cpu_shares(limits.cpu_millicores))),
            "pids.max": str(limits.pids),
        }

    def _weights(self, app_key: str) -> list[tuple[Path, int]]:
        top, app = parent_shares()
        return [(self.root / TOP, cpu_weight(top)), (self._dir(app_key), cpu_weight(app))]

    def _parents(self, app_key: str) -> list[Path]:
        return [self.root, self.root / TOP, self._dir(app_key)]

    def join_lines(self, app_key: str, name: str, limits: ResourceLimits) -> list[str]:
        path = _dq(self._dir(app_key, name))
        lines = [f"mkdir -p {path} || exit 70"]
        for parent in self._parents(app_key):
            control = _dq(parent / "cgroup.subtree_control")
            lines.append(f"grep -q memory {control} || echo '{self.CONTROLLERS}' > {control}")
        for parent, weight in self._weights(app_key):
            lines.append(f"echo {weight} > {_dq(parent / 'cpu.weight')}")
        for key, value in self._settings(limits).items():
            if key == "memory.swap.max":
                lines.append(f"[ -e {path}/{key} ] && echo {value} > {path}/{key}")
            else:
                lines.append(f"echo '{value}' > {path}/{key} || exit 70")
        lines.append(f"echo $$ > {path}/cgroup.procs || exit 70")
        return lines

    def oom_kill_count_command(self, app_key: str, name: str) -> str:
        path = _dq(self._dir(app_key, name) / "memory.events")
        return f"sed -n 's/^oom_kill //p' {path} 2>/dev/null"

    def usage(self, app_key: str, name: str) -> Usage | None:
        path = self._dir(app_key, name)
        if not path.is_dir():
            return None
        cpu_us = 0
        for line in _read(path / "cpu.stat").splitlines():
            key, _, value = line.partition(" ")
            if key == "usage_usec":
                cpu_us = _int(value)
        oom = 0
        for line in _read(path / "memory.events").splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                oom = _int(value)
        limit = _read(path / "memory.max")
        return Usage(
            cpu_ns=cpu_us * 1000,
            memory_bytes=_int(_read(path / "memory.current")),
            memory_limit_bytes=_int(limit) if limit.isdigit() else None,
            oom_kills=oom,
        )

    def names(self, app_key: str) -> list[str]:
        try:
            return sorted(p.name for p in self._dir(app_key).iterdir() if p.is_dir())
        except OSError:
            return []

    def remove(self, app_key: str, name: str = "") -> None:
        _rmdir_tree(self._dir(app_key, name))


def _rmdir_tree(path: Path) -> None:
    """Remove a cgroup and its children (cgroup dirs are removed with rmdir, deepest first;
    a group with processes left in it stays)."""
    if not path.is_dir():
        return
    for child in sorted((p for p in path.rglob("*") if p.is_dir()), reverse=True):
        with contextlib.suppress(OSError):
            os.rmdir(child)
    with contextlib.suppress(OSError):
        os.rmdir(path)


def detect(root: str = "/sys/fs/cgroup") -> Cgroups | None:
    """The driver for this host: v2 when the unified hierarchy has the controllers we need,
    else v1 when memory, cpu and pids are mounted; None when neither."""
    base = Path(root)
    controllers = _read(base / "cgroup.controllers").split()
    if {"memory", "cpu", "pids"} <= set(controllers):
        return CgroupV2(base)
    if all((base / c / "cgroup.procs").exists() for c in CgroupV1.CONTROLLERS):
        return CgroupV1(base)
    return None
