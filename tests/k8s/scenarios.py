"""Provider scenarios, written once for any runtime provider: what the provider contract suite
(tests/providers/test_contract.py) runs against both, local for real and kubernetes on the
emulator.

A `Driver` wraps one provider with what the scenarios need and the provider cannot say by itself
(how to make an artefact, how to wait, what a visitor of a host gets): `deploy(spec)` runs the
pipeline's calls in its order (release command, start, health, route) and returns the
HealthResult; `publish` pushes the host table; `status`, `stop`, … are the provider's.
`KubernetesDriver` names images the emulator's FakeController knows; `LocalDriver` builds
real artefacts (provider.prepare) from a tiny dependency-free git app (`CONTRACT_APP`)."""

from __future__ import annotations

import base64
import dataclasses
import shutil
import subprocess
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from apps.deploy.runtime.base import (
    Artefact,
    HealthResult,
    ProcessStatus,
    ReleaseSpec,
    ResourceLimits,
    Route,
    RuntimeProvider,
)

# What the scenarios' failing release command prints (both providers log it).
RELEASE_FAILURE = "ProgrammingError: relation does not exist"
FAILING_RELEASE = "python migrate.py --fail"


@dataclasses.dataclass
class Driver:
    provider: RuntimeProvider
    health_timeout_s: float = 5.0
    lines: list[str] = dataclasses.field(default_factory=list)
    # What a visitor of a suspended app's host gets (the router's answer).
    suspended_answer: int = 503

    def artefact(self, **process_types: str) -> Artefact:  # pragma: no cover - per provider
        raise NotImplementedError

    def spec(self, app_key: str, deployment_key: str, *, artefact: Artefact, tenant: str = "alpha",
             env: dict | None = None, formation: dict | None = None,
             limits: ResourceLimits | None = None) -> ReleaseSpec:  # fmt: skip
        return ReleaseSpec(
            app_key=app_key,
            deployment_key=deployment_key,
            hostname=f"{app_key[:6]}-{tenant}.apps.test",
            artefact=artefact,
            env=env or {"GREETING": "hello"},
            formation=formation or {"web": 1},
            labels={"app": "demo", "release": "v1"},
            limits=limits or ResourceLimits(),
            tenant=tenant,
            health_path="/healthz",
        )

    def log(self, line: str) -> None:
        self.lines.append(line)

    def release(self, spec: ReleaseSpec, command: str) -> int:
        return self.provider.run(spec, command, log=self.log, tick=lambda: None, timeout_s=30)

    def deploy(self, spec: ReleaseSpec, *, release_command: str = "") -> HealthResult:
        """What the pipeline does for one deployment, stopping where it would stop."""
        if release_command and self.release(spec, release_command) != 0:
            return HealthResult(False, "release command failed")
        self.provider.start(spec)
        result = self.provider.health(
            spec, path="/healthz", passes=1, timeout_s=self.health_timeout_s, tick=lambda: None
        )
        if not result.ok:
            return result
        previous = self.provider.routed_to(spec.app_key)
        self.provider.route(spec)
        if previous and previous != spec.deployment_key:
            self.provider.stop(spec.app_key, previous)
        return result

    def publish(self, spec: ReleaseSpec, kind: str = "python") -> bool:
        """Push the router's host table with this app's host (as the reconciler does)."""
        route = Route(app_key=spec.app_key, hosts=(spec.hostname,), kind=kind,
                      web_count=spec.web_count if kind == "python" else 0)  # fmt: skip
        return self.provider.sync_routes([route])

    def ship(self, spec: ReleaseSpec, **kwargs) -> HealthResult:
        """deploy(), then the host table when it went live."""
        result = self.deploy(spec, **kwargs)
        if result.ok:
            self.publish(spec)
        return result

    def status(self, app_key: str) -> list[ProcessStatus]:
        return self.provider.status(app_key)

    def states(self, app_key: str) -> dict[str, list[str]]:
        """{deployment_key: [state, …]} of an app's processes."""
        out: dict[str, list[str]] = {}
        for process in self.status(app_key):
            out.setdefault(process.deployment_key, []).append(process.state)
        return out

    def running(self, app_key: str, deployment_key: str) -> dict[str, int]:
        """{process type: processes RUNNING} of one deployment."""
        out: dict[str, int] = {}
        for process in self.status(app_key):
            if process.deployment_key == deployment_key and process.state == "RUNNING":
                out[process.process_type] = out.get(process.process_type, 0) + 1
        return out

    def wait(self, predicate: Callable, timeout: float = 5.0, interval: float = 0.05):
        """Poll `predicate` until it returns something true (AssertionError after `timeout`)."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
            time.sleep(interval)

    # --- per provider: what a user of the app sees -----------------------------------------
    def answer(self, spec: ReleaseSpec, path: str = "/") -> tuple[int, str]:  # pragma: no cover
        """(status, body) a visitor of the app's host gets."""
        raise NotImplementedError

    def app_env(self, spec: ReleaseSpec, name: str) -> str | None:  # pragma: no cover
        """The value of `name` the routed release's processes have."""
        raise NotImplementedError

    def crashing(self) -> Artefact:  # pragma: no cover
        """An artefact whose `crash` process type exits as soon as it starts."""
        raise NotImplementedError

    def tamper(self, spec: ReleaseSpec) -> None:  # pragma: no cover
        """Change the runtime behind the provider's back (drift)."""
        raise NotImplementedError

    def leftovers(self, app_key: str) -> list[str]:  # pragma: no cover
        """Whatever of the app the runtime still has."""
        raise NotImplementedError


CONTRACT_APP = {
    "server.py": textwrap.dedent(
        """
        import os
        import socketserver
        from http.server import BaseHTTPRequestHandler
        from pathlib import Path

        VERSION = (Path(__file__).parent / "VERSION").read_text().strip()


        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                path, _, query = self.path.partition("?")
                if path == "/healthz":
                    body = "ok"
                elif path == "/env":
                    body = os.environ.get(query, "")
                else:
                    body = VERSION
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def address_string(self):
                return "unix"

            def log_message(self, *args):
                pass


        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True


        path = os.environ["QUAYSIDE_SOCKET"]
        if os.path.exists(path):
            os.unlink(path)
        print("serving", VERSION, flush=True)
        Server(path, Handler).serve_forever()
        """
    ).lstrip(),
    "worker.py": "import time\n\nprint('working', flush=True)\nwhile True:\n    time.sleep(60)\n",
    "crash.py": "import sys\n\nprint('boom', flush=True)\nsys.exit(3)\n",
    "migrate.py": textwrap.dedent(
        f"""
        import sys

        print("Applying 0002_orders...", flush=True)
        if "--fail" in sys.argv:
            print({RELEASE_FAILURE!r}, flush=True)
            sys.exit(3)
        """
    ).lstrip(),
    "requirements.txt": "# nothing: the standard library is enough\n",
    "Procfile": "web: python server.py\nworker: python worker.py\ncrash: python crash.py\n",
    "VERSION": "v1\n",
}


class LocalDriver(Driver):
    """The local provider for real (supervisord, Caddy, the sandbox): artefacts are built by
    provider.prepare() from commits of a git repository of CONTRACT_APP."""

    def __init__(self, provider: RuntimeProvider, runtime, **kwargs) -> None:
        super().__init__(provider, **kwargs)
        self.runtime = runtime
        self.artefacts: dict[tuple[str, str], Artefact] = {}

    def build(self, app_key: str, repo: Path, version: str,
              limits: ResourceLimits | None = None) -> Artefact:  # fmt: skip
        """Commit VERSION=`version` (first the whole app) in `repo`, fetch it into a build
        directory of `app_key` and prepare() it, as the pipeline does."""
        from apps.deploy.runtime.git import fetch, parse_git_url

        limits = limits or ResourceLimits()
        files = dict(CONTRACT_APP, VERSION=f"{version}\n")
        if not (repo / ".git").exists():
            repo.mkdir(parents=True, exist_ok=True)
            _git(repo, "init", "-q", "-b", "main")
        for name, text in files.items():
            (repo / name).write_text(text)
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "--allow-empty", "-m", version)
        build_key = f"b{version}{len(self.artefacts):04d}"[:12]
        source_dir = self.provider.source_dir(app_key, build_key)
        self.provider.prepare_app(app_key, limits)
        source = parse_git_url(str(repo), allow_local=True)
        fetch(source, "main", source_dir, log=self.log, tick=lambda: None, timeout_s=60,
              allow_local=True)  # fmt: skip
        artefact = self.provider.prepare(app_key=app_key, build_key=build_key,
                                         source_dir=source_dir, log=self.log,
                                         tick=lambda: None, limits=limits)  # fmt: skip
        self.artefacts[(app_key, version)] = artefact
        return artefact

    def artefact(self, app_key: str = "", version: str = "v1", **_unused) -> Artefact:
        if not app_key:
            app_key = next(key for key, v in self.artefacts if v == version)
        return self.artefacts[(app_key, version)]

    def crashing(self, app_key: str = "") -> Artefact:
        return self.artefact(app_key)  # its Procfile has `crash`

    def failing_release(self) -> str:
        return FAILING_RELEASE

    def answer(self, spec: ReleaseSpec, path: str = "/") -> tuple[int, str]:
        response = self.runtime.get(spec.hostname, path)
        return response.status_code, response.text

    def app_env(self, spec: ReleaseSpec, name: str) -> str | None:
        status, body = self.answer(spec, f"/env?{name}")
        return body if status == 200 else None

    def tamper(self, spec: ReleaseSpec) -> None:
        """Someone removes the web program from supervisord by hand (its file too)."""
        self.provider.supervisor.remove(
            self.provider.program(spec.app_key, spec.deployment_key, "web")
        )

    def leftovers(self, app_key: str) -> list[str]:
        root = Path(self.provider.root)
        found = [f"program of {k}" for a, k in self.provider.program_keys() if a == app_key]
        found += [
            str(p)
            for p in [
                *root.glob(f"sockets/{app_key}.*"),
                *root.glob(f"conf.d/*{app_key}*"),
                *root.glob(f"supervisor/conf.d/*{app_key}*"),
                root / "sites" / app_key,
                root / "bind" / app_key,
                root / "apps" / app_key,
                root / "home" / app_key,
                root / "logs" / app_key,
                root / "run" / app_key,
            ]
            if p.exists() or p.is_symlink()
        ]
        groups = {info["group"] for info in self.provider.supervisor.processes()}
        found += [g for g in groups if app_key in g]
        return found

    def reset(self, app_key: str) -> None:
        """Stop every deployment of a shared app and forget its routes (between scenarios)."""
        for app, key in self.provider.program_keys():
            if app == app_key:
                self.provider.stop(app_key, key)
        self.provider.unroute_extra(app_key, 0)
        self.provider.sync_routes([])
        self.lines.clear()


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        [shutil.which("git") or "git", "-c", "user.email=t@example.com", "-c", "user.name=Test",
         *args],
        cwd=repo, check=True, capture_output=True,
    )  # fmt: skip


class KubernetesDriver(Driver):
    """The Kubernetes provider on the emulator: artefacts are images (the fake controller
    decides how a pod of an image behaves). What a visitor gets is what an ingress controller
    would do with the objects: no Ingress (or HTTPRoute) for the host: 404; one whose Service
    selects no ready pod: 503; else the routed release's version (its image's)."""

    VERSIONS = {"v1": "a", "v2": "b"}
    CRASHING = "registry.test/crashloop@sha256:" + "c" * 64

    def __init__(self, provider: RuntimeProvider, emulator, **kwargs) -> None:
        kwargs.setdefault("suspended_answer", 404)  # the Ingress is gone
        super().__init__(provider, **kwargs)
        self.emulator = emulator

    def artefact(self, image: str = "", version: str = "v1", **process_types: str) -> Artefact:
        image = image or f"registry.test/demo@sha256:{self.VERSIONS[version] * 64}"
        return Artefact(
            kind="image",
            source_dir="",
            image=image,
            process_types=process_types or {"web": "gunicorn app:app", "worker": "celery worker"},
        )

    def crashing(self) -> Artefact:
        self.emulator.controller.behave("crashloop", "crash-loop")
        return self.artefact(image=self.CRASHING, web="python server.py",
                             worker="python worker.py", crash="python crash.py")  # fmt: skip

    def failing_release(self) -> str:
        self.emulator.controller.job_outcome(
            "--fail", 3, ["Applying 0002_orders...", RELEASE_FAILURE]
        )
        return FAILING_RELEASE

    def _objects(self, kind: str, **labels: str) -> list[dict]:
        return self.emulator.store.find(kind, **labels)

    def _web_deployment(self, spec: ReleaseSpec) -> dict | None:
        from apps.deploy.runtime.kubernetes import names

        key = self.provider.routed_to(spec.app_key)
        found = self._objects("Deployment", **{names.APP: spec.app_key,
                                               names.DEPLOYMENT: key or "-",
                                               names.PROCESS_TYPE: "web"})  # fmt: skip
        return found[0] if found else None

    def answer(self, spec: ReleaseSpec, path: str = "/") -> tuple[int, str]:
        routes = [
            obj
            for kind in ("Ingress", "HTTPRoute")
            for obj in self._objects(kind)
            if spec.hostname
            in [r.get("host") for r in obj["spec"].get("rules", [])]
            + obj["spec"].get("hostnames", [])
        ]
        if not routes:
            return 404, "default backend - 404"
        web = self._web_deployment(spec)
        if web is None or not (web.get("status") or {}).get("readyReplicas"):
            return 503, "Service Unavailable"
        image = web["spec"]["template"]["spec"]["containers"][0]["image"]
        version = next((v for v, c in self.VERSIONS.items() if image.endswith(c * 64)), "?")
        return 200, version

    def app_env(self, spec: ReleaseSpec, name: str) -> str | None:
        web = self._web_deployment(spec)
        if web is None:
            return None
        container = web["spec"]["template"]["spec"]["containers"][0]
        secrets = [s["secretRef"]["name"] for s in container.get("envFrom", []) if "secretRef" in s]
        for secret in self._objects("Secret"):
            if secret["metadata"]["name"] in secrets and name in secret.get("data", {}):
                return base64.b64decode(secret["data"][name]).decode()
        return None

    def tamper(self, spec: ReleaseSpec) -> None:
        """Someone scales the web Deployment by hand and deletes the app's Service."""
        from apps.deploy.runtime.kubernetes import names

        from .emulator.controller import DEPLOYMENT
        from .emulator.resources import BY_KIND

        ns = names.namespace(spec.tenant)
        web = names.deployment(spec.app_key, spec.deployment_key, "web")
        store = self.emulator.store
        store.patch(DEPLOYMENT, ns, web, {"spec": {"replicas": 0}}, manager="kubectl-edit")
        store.delete(BY_KIND[("v1", "Service")], ns, names.service(spec.app_key))

    def leftovers(self, app_key: str) -> list[str]:
        from apps.deploy.runtime.kubernetes import names

        store = self.emulator.store
        with store.lock:
            return [
                f"{obj['kind']} {obj['metadata'].get('namespace')}/{obj['metadata']['name']}"
                for obj in store.objects.values()
                if (obj["metadata"].get("labels") or {}).get(names.APP) == app_key
            ]

    def reset(self, app_key: str) -> None:
        self.lines.clear()
