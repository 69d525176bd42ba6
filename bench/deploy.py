"""Deploy-to-live time of a redeploy under a bounded request load, through the real local runtime.

    .venv/bin/python bench/deploy.py [--threads 4]

Starts what it needs and stops it again: a scratch database (on the server of DATABASE_URL, else
the one scripts/services.py finds or starts), supervisord with Caddy in a temporary runtime
directory on a free port, a git repository of a tiny WSGI app. Deploys v1 (the first build makes
the virtualenv), then redeploys v2 while threads send requests at the app's hostname through
Caddy over keep-alive connections, and ends with
    BENCH deploy deploy_to_live_s=X failed_requests=N requests=M sandbox=on|off
deploy_to_live_s is from the deployment's creation to the moment traffic is switched to the
new release (the pipeline runs in this process, as a Celery worker would run it)."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from _support import free_port, scratch_database, services  # noqa: E402

APP = """import os
from pathlib import Path

VERSION = (Path(__file__).parent / "VERSION").read_text().strip()


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [VERSION.encode()]
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        [shutil.which("git") or "git", "-c", "user.name=bench", "-c", "user.email=b@b", *args],
        cwd=repo, check=True, capture_output=True,
    )  # fmt: skip


def make_repo(path: Path) -> None:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    (path / "app.py").write_text(APP)
    (path / "VERSION").write_text("v1\n")
    (path / "requirements.txt").write_text("gunicorn>=23,<28\n")
    (path / "Procfile").write_text(
        "web: gunicorn --bind unix:$QUAYSIDE_SOCKET --workers 2 app:app\n"
    )
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "v1")


class Load:
    def __init__(self, port: int, host: str, threads: int, max_s: float = 40) -> None:
        self.port, self.host, self.max_s = port, host, max_s
        self.stop = threading.Event()
        self.ok = 0
        self.failures: list[str] = []
        self.versions: set[str] = set()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]

    def run(self) -> None:
        import httpx

        deadline = time.monotonic() + self.max_s
        with httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}", headers={"Host": self.host}, timeout=10
        ) as client:
            while not self.stop.is_set() and time.monotonic() < deadline:
                try:
                    response = client.get("/")
                    error = None if response.status_code == 200 else f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    error, response = f"{type(exc).__name__}", None
                with self.lock:
                    if error:
                        self.failures.append(error)
                    else:
                        self.ok += 1
                        self.versions.add(response.text)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=15)


def run(threads: int, workdir: Path, port: int) -> str:
    import io

    from django.conf import settings
    from django.core.management import call_command
    from django_tenants.utils import tenant_context

    from apps.deploy import pipeline, services
    from apps.deploy.runtime.local import LocalProvider
    from apps.tenants.services import tenant_create

    started = time.perf_counter()
    call_command("release", verbosity=0, stdout=io.StringIO())
    print(f"migrations and template render: {time.perf_counter() - started:.1f} s")

    provider = LocalProvider()
    conf = provider.render_files([])
    supervisord = subprocess.Popen(
        [str(Path(sys.executable).parent / "supervisord"), "-n", "-c", str(conf)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        started = time.perf_counter()
        provider.ensure_ready(wait_s=20)
        print(f"supervisord + Caddy ready: {time.perf_counter() - started:.2f} s")
        print(f"sandbox: {'on' if provider.sandbox is not None else 'off'} (DEPLOY_SANDBOX)")
        repo = workdir / "repo"
        make_repo(repo)
        tenant = tenant_create(name="Bench", slug=f"bench-{uuid.uuid4().hex[:6]}")
        with tenant_context(tenant):
            app, _ = services.app_create(
                tenant=tenant, actor=services.SYSTEM, name="hello", git_url=str(repo)
            )
            host = f"hello-{tenant.slug}.{settings.APPS_DOMAIN}"

            def deploy():
                deployment = services.deployment_create(
                    app=app, tenant=tenant, actor=services.SYSTEM
                )
                pipeline.deployment_execute(deployment.pk)
                deployment.refresh_from_db()
                if deployment.state != "live":
                    raise SystemExit(f"deployment failed: {deployment.failure_reason}")
                return deployment

            def describe(deployment) -> str:
                steps = []
                ordered = sorted(deployment.steps.items(), key=lambda item: item[1]["started_at"])
                for name, times in ordered:
                    if "finished_at" in times:
                        a = _parse(times["started_at"])
                        b = _parse(times["finished_at"])
                        steps.append(f"{name} {(b - a).total_seconds():.2f}s")
                return ", ".join(steps)

            first = deploy()
            build = first.build
            print(f"first deploy (builds the virtualenv): {_to_live(first):.2f} s to live")
            print(f"  build {build.duration_ms / 1000:.2f} s; steps: {describe(first)}")

            (repo / "VERSION").write_text("v2\n")
            git(repo, "commit", "-qam", "v2")
            with Load(port, host, threads) as load:
                time.sleep(1.0)
                second = deploy()
                time.sleep(1.0)
            print(f"redeploy: {_to_live(second):.2f} s to live; steps: {describe(second)}")
            print(
                f"load: {load.ok + len(load.failures)} requests from {threads} keep-alive "
                f"clients, {len(load.failures)} failed, versions seen {sorted(load.versions)}"
            )
            if load.failures:
                print("failures:", sorted(set(load.failures)))
            provider.remove_app(app.pk.hex)
        return (
            f"BENCH deploy deploy_to_live_s={_to_live(second):.2f} "
            f"failed_requests={len(load.failures)} requests={load.ok + len(load.failures)} "
            f"first_deploy_s={_to_live(first):.2f} first_build_s={build.duration_ms / 1000:.2f} "
            f"sandbox={'on' if provider.sandbox is not None else 'off'}"
        )
    finally:
        supervisord.send_signal(signal.SIGTERM)
        try:
            supervisord.wait(timeout=30)
        except subprocess.TimeoutExpired:
            supervisord.kill()
            supervisord.wait()
        if provider.sandbox is not None:  # the app's disk, namespace and cgroups, even on failure
            provider.sandbox.remove_all()


def _parse(value: str):
    import datetime as dt

    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _to_live(deployment) -> float:
    return (deployment.finished_at - deployment.created_at).total_seconds()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=4, help="load threads (4)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="qs-bd-", dir="/tmp"))
    workdir.chmod(0o755)  # apps run as an unprivileged user when this runs as root
    port = free_port()
    os.environ.update(
        {
            "DEPLOY_RUNTIME_DIR": str(workdir / "rt"),
            "DEPLOY_HTTP_LISTEN": f"127.0.0.1:{port}",
            "DEPLOY_ALLOW_LOCAL_GIT": "true",
            "DEPLOY_DRAIN_S": os.environ.get("DEPLOY_DRAIN_S", "1"),
        }
    )
    try:
        with services(), scratch_database():
            line = run(args.threads, workdir, port)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
