"""Fixtures of the deploy tests: the real local runtime (supervisord + Caddy under it, in a short
temporary directory, Caddy on a free 127.0.0.1 port), real git repositories of a tiny WSGI app,
and helpers that create apps and run deployments in tenant `alpha`.

The runtime is started once per session, only when a test asks for it, and stopped at the end;
teardown fails if any process it started (supervisord, Caddy, gunicorn) is left behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django_tenants.utils import tenant_context

APP_PY = textwrap.dedent(
    """
    import os
    import time
    from pathlib import Path

    HERE = Path(__file__).parent
    VERSION = (HERE / "VERSION").read_text().strip()


    def app(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/healthz":
            health = HERE / "HEALTH"
            status = health.read_text().strip() if health.exists() else "200"
            start_response(f"{status} Health", [("Content-Type", "text/plain")])
            return [b"health"]
        if path == "/env":
            value = os.environ.get(environ.get("QUERY_STRING", ""), "")
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [value.encode()]
        if path == "/slow":
            time.sleep(0.3)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [VERSION.encode()]
    """
).lstrip()
REQUIREMENTS = "gunicorn>=23,<28\n"
PROCFILE = "web: gunicorn --bind unix:$QUAYSIDE_SOCKET --workers 2 app:app\n"

RUNTIME_SETTINGS = {
    "DEPLOY_ALLOW_LOCAL_GIT": True,
    "DEPLOY_HEALTH_PATH": "/healthz",
    "DEPLOY_HEALTH_TIMEOUT_S": 8.0,
    "DEPLOY_HEALTH_INTERVAL_S": 0.1,
    "DEPLOY_HEALTH_PASSES": 3,
    "DEPLOY_DRAIN_S": 0.5,
    "DEPLOY_STOP_WAIT_S": 5,
    "DEPLOY_HEARTBEAT_EVERY_S": 1,
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def processes_under(path: str) -> list[int]:
    """Pids whose command line mentions `path` (what the runtime started)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/stat") as handle:
                state = handle.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if path in cmdline and state != "Z":
            found.append(int(entry))
    return found


@dataclass
class Runtime:
    root: str
    port: int
    process: subprocess.Popen
    env: dict[str, str] = field(default_factory=dict)
    overrides: dict = field(default_factory=dict)  # the settings it runs with

    @property
    def provider(self):
        from apps.deploy.runtime.local import LocalProvider

        return LocalProvider(self.root)

    def get(self, host: str, path: str = "/", **kwargs) -> httpx.Response:
        return httpx.get(
            f"http://127.0.0.1:{self.port}{path}", headers={"Host": host}, timeout=10, **kwargs
        )


def runtime_session() -> Iterator[Runtime]:
    """The session's local runtime; the `runtime` fixture (tests/conftest.py, one instance for
    the whole suite) yields it. Its settings are written beneath any test's own overrides
    (pytest-django's `settings`), or the first test that starts it would take them away again
    when its overrides end."""
    from apps.deploy.runtime.local import LocalProvider

    root = tempfile.mkdtemp(prefix="qs-rt-", dir="/tmp")
    port = free_port()
    overrides = {
        **RUNTIME_SETTINGS,
        "DEPLOY_RUNTIME_DIR": root,
        "DEPLOY_HTTP_LISTEN": f"127.0.0.1:{port}",
    }
    base = base_settings()
    saved = {name: getattr(base, name) for name in overrides}
    for name, value in overrides.items():
        setattr(base, name, value)
    env = {name: str(value) for name, value in overrides.items()}
    env["DEPLOY_ALLOW_LOCAL_GIT"] = "true"
    process = None
    try:
        conf = LocalProvider(root).render_files([])
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "supervisord"), "-n", "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        LocalProvider(root).ensure_ready(wait_s=20)
        yield Runtime(root=root, port=port, process=process, env=env, overrides=overrides)
    finally:
        if process is not None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        # supervisord is gone; its programs' own children (gunicorn workers) may still be
        # finishing their SIGTERM for a moment, longer on a loaded machine (seen: over 5 s on
        # two cores with other suites running). What is still there after 15 s was left.
        deadline = time.monotonic() + 15
        while (leftovers := processes_under(root)) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        sandbox = LocalProvider(root).sandbox
        if sandbox is not None:  # unmount the apps' disks, delete namespaces and cgroups
            sandbox.remove_all()
        for name, value in saved.items():
            setattr(base, name, value)
        shutil.rmtree(root, ignore_errors=True)
        assert not leftovers, f"processes left running after the runtime stopped: {leftovers}"


def base_settings():
    """Django's settings beneath every override_settings layer in force."""
    holder = settings._wrapped
    while hasattr(holder, "default_settings"):
        holder = holder.default_settings
    return holder


class GitRepo:
    """A repository of the test app; `commit()` changes files and returns the new sha."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True)
        self._git("init", "-q", "-b", "main")
        self.commit(
            {
                "app.py": APP_PY,
                "VERSION": "v1\n",
                "requirements.txt": REQUIREMENTS,
                "Procfile": PROCFILE,
            },
            "v1",
        )

    def _git(self, *args: str) -> str:
        return subprocess.run(
            [
                shutil.which("git") or "git",
                "-c",
                "user.email=t@example.com",
                "-c",
                "user.name=Test",
                *args,
            ],
            cwd=self.path,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    def commit(self, files: dict[str, str | None], message: str = "change") -> str:
        for name, content in files.items():
            target = self.path / name
            if content is None:
                target.unlink(missing_ok=True)
            else:
                target.write_text(content)
        self._git("add", "-A")
        self._git("commit", "-q", "--allow-empty", "-m", message)
        return self._git("rev-parse", "HEAD")


@pytest.fixture
def git_repo(tmp_path) -> GitRepo:
    return GitRepo(tmp_path / f"repo-{uuid.uuid4().hex[:6]}")


@pytest.fixture(autouse=True)
def _no_broker_from_deploy_tests(monkeypatch):
    """Services enqueue pipeline tasks after commit; here tests run them inline, so record
    instead of sending (a test that wants a real worker sends its task itself)."""
    from apps.deploy import services, suspension

    sent: list = []
    monkeypatch.setattr(services, "enqueue_deployment", lambda pk: sent.append(("deploy", pk)))
    monkeypatch.setattr(services, "enqueue_reconcile", lambda pk: sent.append(("reconcile", pk)))
    monkeypatch.setattr(
        suspension, "enqueue_tenant_reconcile", lambda pk: sent.append(("reconcile_tenant", pk))
    )
    return sent


class Deployer:
    """Creates apps in tenant alpha and runs their deployments in this process."""

    def __init__(self, world, runtime: Runtime) -> None:
        self.world = world
        self.runtime = runtime
        self.tenant = world["tenant_a"]
        self.apps: list = []

    def create(self, repo: GitRepo | None = None, **kwargs):
        from apps.deploy import services

        name = kwargs.pop("name", f"t{uuid.uuid4().hex[:8]}")
        with tenant_context(self.tenant):
            app, _secret = services.app_create(
                tenant=self.tenant,
                actor=services.Actor(user=self.world["alice"]),
                name=name,
                git_url=str(repo.path) if repo else "",
                **kwargs,
            )
        self.apps.append(app)
        return app

    def hostname(self, app) -> str:
        return f"{app.name}-{self.tenant.slug}.{settings.APPS_DOMAIN}"

    def run(self, deployment):
        from apps.deploy import pipeline

        with tenant_context(self.tenant):
            pipeline.deployment_execute(deployment.pk)
            deployment.refresh_from_db()
        return deployment

    def deploy(self, app, ref: str = ""):
        from apps.deploy import services

        with tenant_context(self.tenant):
            deployment = services.deployment_create(
                app=app, tenant=self.tenant, actor=services.Actor(user=self.world["alice"]), ref=ref
            )
        return self.run(deployment)

    def logs(self, deployment) -> str:
        from apps.deploy.models import DeploymentLog

        with tenant_context(self.tenant):
            return "\n".join(
                DeploymentLog.objects.filter(deployment=deployment).values_list("line", flat=True)
            )

    def cleanup(self) -> None:
        provider = self.runtime.provider
        for app in self.apps:
            provider.remove_app(app.pk.hex)


@pytest.fixture
def deployer(world, runtime, db):
    helper = Deployer(world, runtime)
    yield helper
    helper.cleanup()


class Load:
    """A bounded stream of requests at one host through Caddy, from a few threads with
    keep-alive connections (as browsers and strict clients do)."""

    def __init__(self, runtime: Runtime, host: str, *, threads: int = 4, max_s: float = 30):
        self.runtime, self.host, self.threads, self.max_s = runtime, host, threads, max_s
        self.stop = threading.Event()
        self.bodies: list[str] = []
        self.failures: list[str] = []
        self._lock = threading.Lock()
        self._workers = [threading.Thread(target=self._loop, daemon=True) for _ in range(threads)]

    def _loop(self) -> None:
        deadline = time.monotonic() + self.max_s
        with httpx.Client(
            base_url=f"http://127.0.0.1:{self.runtime.port}",
            headers={"Host": self.host},
            timeout=10,
        ) as client:
            while not self.stop.is_set() and time.monotonic() < deadline:
                try:
                    response = client.get("/")
                    outcome = response.text if response.status_code == 200 else None
                    failure = None if outcome else f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    outcome, failure = None, f"{type(exc).__name__}: {exc}"
                with self._lock:
                    if failure:
                        self.failures.append(failure)
                    else:
                        self.bodies.append(outcome)

    def __enter__(self):
        for worker in self._workers:
            worker.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for worker in self._workers:
            worker.join(timeout=15)

    @property
    def requests(self) -> int:
        return len(self.bodies) + len(self.failures)
