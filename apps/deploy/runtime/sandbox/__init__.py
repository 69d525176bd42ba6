"""The sandbox every build, release command and process of an app runs in (local provider).

Per app: a host uid of its own (uids.py), a size-limited filesystem for its files (disk.py), a
network namespace with internet only (network.py). Per process, build and release command: a
cgroup with the plan's memory, CPU and pids limits (cgroups.py), PID/IPC/UTS/mount/user
namespaces, the system read-only and only the app's own directories writable (command.py).

`Sandbox.for_settings()` is None when DEPLOY_SANDBOX=off (processes then run as
DEPLOY_RUN_AS_USER on the host's network, as before: for development on machines without
root). docs/deploy.md "The sandbox" is the operator's view."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from ..base import ResourceLimits, RuntimeProblem
from . import cgroups, disk, network
from .command import Invocation, Mount, shell_line
from .uids import UidAllocator, parse_range

# Sandbox.rules(): (settings in force) -> (expires at, ruleset).
RULES_TTL_S = 30.0
_RULES_CACHE: dict[tuple, tuple[float, str]] = {}

REQUIRED_TOOLS = {
    "bwrap": "bubblewrap",
    "slirp4netns": "slirp4netns",
    "nsenter": "util-linux",
    "setpriv": "util-linux",
    "nft": "nftables",
    "ip": "iproute2",
    "mkfs.ext4": "e2fsprogs",
    "resize2fs": "e2fsprogs",
}
DEBIAN_PACKAGES = sorted(set(REQUIRED_TOOLS.values()))

__all__ = ["AppSandbox", "Invocation", "Mount", "Sandbox", "enabled", "missing_requirements"]


def enabled() -> bool:
    return str(settings.DEPLOY_SANDBOX).lower() not in ("off", "0", "false", "no")


def missing_requirements() -> list[str]:
    """What this host lacks for the sandbox, each as something a person can act on."""
    problems = []
    if os.geteuid() != 0:
        problems.append(
            "the sandbox needs root (it gives each app its own uid, network and cgroups): run "
            "Quayside's worker as root, or set DEPLOY_SANDBOX=off on a development machine"
        )
    missing = sorted({pkg for tool, pkg in REQUIRED_TOOLS.items() if not shutil.which(tool)})
    if missing:
        problems.append(f"missing programs: apt-get install {' '.join(missing)}")
    if cgroups.detect() is None:
        problems.append(
            "no usable cgroups: mount cgroup v2 with the memory, cpu and pids controllers "
            "enabled, or cgroup v1 memory, cpu, cpuacct and pids hierarchies"
        )
    return problems


@dataclass(frozen=True)
class AppSandbox:
    app_key: str
    uid: int
    app_dir: Path

    @property
    def home(self) -> Path:
        return self.app_dir / "home"


class Sandbox:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.state_dir = root / "sandbox"
        self.uids = UidAllocator(
            self.state_dir / "uids", parse_range(settings.DEPLOY_SANDBOX_UID_RANGE)
        )
        self._cgroups: cgroups.Cgroups | None = None
        self.notes: list[str] = []  # what the last prepare_app could not do at once

    @classmethod
    def for_settings(cls, root: Path) -> Sandbox | None:
        return cls(root) if enabled() else None

    @property
    def cgroups(self) -> cgroups.Cgroups:
        if self._cgroups is None:
            found = cgroups.detect()
            if found is None:
                raise RuntimeProblem(
                    "The sandbox found no usable cgroups: "
                    + "; ".join(missing_requirements())
                    + "."
                )
            self._cgroups = found
        return self._cgroups

    def check(self) -> None:
        problems = missing_requirements()
        if problems:
            raise RuntimeProblem("The app sandbox cannot run here: " + "; ".join(problems) + ".")

    # --- per app ------------------------------------------------------------------------------
    def app_dir(self, app_key: str) -> Path:
        return self.root / "apps" / app_key

    def image(self, app_key: str) -> Path:
        return self.root / "disks" / f"{app_key}.img"

    def prepare_app(self, app_key: str, limits: ResourceLimits) -> AppSandbox:
        """The app's uid, its disk mounted (grown to the plan's size) with its own directories
        on it, and its network namespace. Idempotent: cheap when all is in place."""
        self.check()
        uid = self.uids.allocate(app_key)
        app_dir = self.app_dir(app_key)
        self.notes = []
        note = disk.ensure(self.image(app_key), app_dir, limits.disk_mb)
        if note:
            self.notes.append(note)
        os.chown(app_dir, 0, 0)
        os.chmod(app_dir, 0o755)
        # builds/, cache/ and venvs/ stay root's: the builders hand the app what it may write
        # (its checkout, cache and virtualenv dirs) and keep their ready markers out of reach.
        for name in ("builds", "cache", "venvs"):
            (app_dir / name).mkdir(exist_ok=True)
            os.chmod(app_dir / name, 0o755)
        home = app_dir / "home"
        home.mkdir(exist_ok=True)
        os.chown(home, uid, uid)
        os.chmod(home, 0o700)
        self._write_etc(app_key, uid)
        rules = self.rules()
        stored = self._etc_dir(app_key) / "rules.nft"
        if not network.ensure_namespace(app_key, rules) and (
            not stored.exists() or stored.read_text() != rules
        ):
            network.reload_rules(app_key, rules)  # the operator changed the allowed networks
        stored.write_text(rules)
        return AppSandbox(app_key=app_key, uid=uid, app_dir=app_dir)

    def get(self, app_key: str) -> AppSandbox | None:
        uid = self.uids.get(app_key)
        if uid is None:
            return None
        return AppSandbox(app_key=app_key, uid=uid, app_dir=self.app_dir(app_key))

    def rules(self) -> str:
        """The apps' nftables ruleset. Working it out reads the host's addresses (`ip -j addr`)
        and resolves Quayside's service hosts, 10-20 ms that every build, start, release command
        and reconcile pass would pay. The answer is kept for RULES_TTL_S per set of inputs: a
        changed setting applies at once, a new host address at most RULES_TTL_S later."""
        urls = [
            getattr(settings, name, "") or ""
            for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")
        ]
        databases = getattr(settings, "DATABASES", {})
        hosts = [f"//{db.get('HOST')}" for db in databases.values() if db.get("HOST")]
        networks = tuple(settings.DEPLOY_SANDBOX_ALLOWED_NETWORKS)
        key = (tuple(urls + hosts), networks)
        now = time.monotonic()
        cached = _RULES_CACHE.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        denied = network.host_addresses() | network.service_addresses(urls + hosts)
        allowed = network.parse_allowed(list(networks))
        rules = network.ruleset(denied=denied, allowed=allowed)
        _RULES_CACHE.clear()  # one entry: the settings in force
        _RULES_CACHE[key] = (now + RULES_TTL_S, rules)
        return rules

    def _etc_dir(self, app_key: str) -> Path:
        return self.state_dir / "etc" / app_key

    def _write_etc(self, app_key: str, uid: int) -> None:
        """passwd/group naming the app's uid (tools ask who they are) and a resolv.conf that
        points at slirp4netns's DNS forwarder."""
        etc = self._etc_dir(app_key)
        etc.mkdir(parents=True, exist_ok=True)
        home = self.app_dir(app_key) / "home"
        files = {
            "passwd": f"root:x:0:0:root:/root:/usr/sbin/nologin\n"
            f"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
            f"app:x:{uid}:{uid}:app:{home}:/bin/sh\n",
            "group": f"root:x:0:\nnogroup:x:65534:\napp:x:{uid}:\n",
            "resolv.conf": f"nameserver {network.DNS}\n",
            "hosts": "127.0.0.1 localhost app\n::1 localhost\n",
        }
        for name, text in files.items():
            path = etc / name
            if not path.exists() or path.read_text() != text:
                path.write_text(text)
                os.chmod(path, 0o644)

    def etc_files(self, app_key: str) -> tuple[tuple[str, str], ...]:
        etc = self._etc_dir(app_key)
        return tuple(
            (str(etc / n), f"/etc/{n}") for n in ("passwd", "group", "resolv.conf", "hosts")
        )

    def slirp_command(self, app_key: str) -> list[str]:
        return network.slirp_command(app_key)

    def remove_app(self, app_key: str) -> None:
        self.cgroups.remove(app_key)
        network.delete_namespace(app_key)
        disk.remove(self.image(app_key), self.app_dir(app_key))
        shutil.rmtree(self._etc_dir(app_key), ignore_errors=True)
        self.uids.release(app_key)

    def remove_all(self) -> None:
        """Every app's sandbox (uninstalling a runtime; the tests' teardown)."""
        if self.uids.by_app.is_dir():
            for path in list(self.uids.by_app.iterdir()):
                self.remove_app(path.name)

    # --- per command --------------------------------------------------------------------------
    def invocation(
        self,
        box: AppSandbox,
        *,
        argv: list[str],
        env: dict[str, str],
        cwd: str,
        mounts: list[Mount],
        limits: ResourceLimits,
    ) -> Invocation:
        return Invocation(
            uid=box.uid,
            netns=str(network.netns_path(box.app_key)),
            mounts=tuple(mounts),
            env=env,
            cwd=cwd,
            argv=tuple(argv),
            tmp_bytes=min(limits.memory_mb, 256) * 1024 * 1024,
            files=self.etc_files(box.app_key),
        )

    def script(
        self, box: AppSandbox, cgroup_name: str, inv: Invocation, limits: ResourceLimits
    ) -> list[str]:
        """Shell lines (run as root) that enter the cgroup and exec the sandboxed command."""
        lines = self.cgroups.join_lines(box.app_key, cgroup_name, limits)
        lines.append("exec " + shell_line(inv))
        return lines
