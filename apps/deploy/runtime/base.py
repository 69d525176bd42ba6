"""The runtime provider interface: what the deploy pipeline asks of wherever apps run.

The pipeline (apps/deploy/pipeline.py) knows nothing of supervisord or Caddy; it calls
    prepare  build a fetched source tree into something runnable (an artefact)
    run      a one-off command with a release's config (the Procfile `release:` phase)
    start    a release's processes, on fresh sockets, next to whatever is serving now
    health   the new web processes, directly (not through the router)
    route    traffic to a started release (atomically) and the router's host table
    stop     a deployment's processes
    status   what runs for an app, with health, CPU and memory
    logs     recent output of an app's processes
Providers raise RuntimeProblem with a message a person can act on."""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field


class RuntimeProblem(Exception):
    """Something the runtime could not do. `permanent` problems are not worth retrying."""

    def __init__(self, message: str, *, permanent: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


class BuildRefused(RuntimeProblem):
    """The source is not something this provider can build."""


# A log sink takes one line of output (already split, without the newline).
LogSink = Callable[[str], None]
# Called regularly during long work, so a deployment keeps proving its worker is alive.
Tick = Callable[[], None]


@dataclass(frozen=True)
class Artefact:
    """What `prepare` made of a source tree, and what its processes need at run time.

    Every kind but "static" runs processes. At run time a process may rely on its build's
    directory (`source_dir`), its virtualenv (`venv_dir`), its home, the system (/usr, /etc,
    /bin, /lib*) and `read_only_paths` (host paths outside those, e.g. the Node.js install or a
    Python prefix outside /usr), which a sandbox shows read-only at the same path; nothing
    else. `path_dirs` go first on PATH; `env` are defaults the app's own config overrides."""

    kind: str  # "python" | "node" | "static" (see runtime/builders/) | "image" (a container)
    source_dir: str
    venv_dir: str = ""
    process_types: dict[str, str] = field(default_factory=dict)
    release_command: str = ""
    path_dirs: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    read_only_paths: tuple[str, ...] = ()
    # A container image reference, pinned by digest ("registry/app@sha256:…"): what the
    # Kubernetes provider runs (kind "image"); empty for the local provider's builds.
    image: str = ""

    @property
    def runs_processes(self) -> bool:
        return self.kind != "static"

    def run_needs(self) -> dict:
        """path_dirs, env, read_only_paths and the image as JSON (kept with the build,
        Build.run_needs)."""
        record = {
            "path_dirs": list(self.path_dirs),
            "env": dict(self.env),
            "read_only_paths": list(self.read_only_paths),
        }
        if self.image:
            record["image"] = self.image
        return record

    @staticmethod
    def from_run_needs(record: dict | None) -> dict:
        """Artefact keyword arguments from what run_needs() returned (empty for old builds)."""
        record = record or {}
        return {
            "path_dirs": tuple(record.get("path_dirs", ())),
            "env": dict(record.get("env", {})),
            "read_only_paths": tuple(record.get("read_only_paths", ())),
            "image": record.get("image", ""),
        }


@dataclass(frozen=True)
class BuildSource:
    """Where a build's code comes from, for providers that build somewhere other than this
    machine (the Kubernetes provider's in-cluster build Job fetches it again itself). The URL
    never carries credentials: `credentialed` says the app's URL had some (a provider that would
    have to hand them to the cluster refuses the build instead)."""

    git_url: str  # without credentials
    commit_sha: str
    ref: str = ""
    scheme: str = "https"  # https | http | ssh | git | file
    credentialed: bool = False
    tenant: str = ""  # the tenant's slug
    app_name: str = ""

    @classmethod
    def of(cls, git, *, commit_sha: str, ref: str = "", tenant: str = "", app_name: str = ""):
        """From a parsed git URL (runtime.git.GitSource)."""
        return cls(
            git_url=git.url, commit_sha=commit_sha, ref=ref, scheme=git.scheme,
            credentialed=bool(git.secrets), tenant=tenant, app_name=app_name,
        )  # fmt: skip


@dataclass(frozen=True)
class ResourceLimits:
    """What one app may use, from its tenant's plan (entitlements memory_mb, cpu_millicores,
    pids, disk_mb; the operator's DEPLOY_SANDBOX_DEFAULT_* where the plan says "no limit").
    memory and CPU are per process, pids per sandbox (one process and its children), disk per
    app (builds, releases and home together)."""

    memory_mb: int = 512
    cpu_millicores: int = 1000
    pids: int = 256
    disk_mb: int = 2048
    # Counts where the plan has them (entitlements `apps`, `processes`; None: none): the
    # Kubernetes provider sizes a namespace's ResourceQuota with them; the local provider
    # leaves counting to the API (check_process_quota).
    apps: int | None = None
    processes: int | None = None


@dataclass(frozen=True)
class ReleaseSpec:
    """One deployment's processes: which app, which code, which config, how many of each."""

    app_key: str  # stable and unique across tenants (the app id's hex)
    deployment_key: str  # unique per deployment (fresh sockets and program names)
    hostname: str
    artefact: Artefact
    env: dict[str, str]
    formation: dict[str, int]
    labels: dict[str, str] = field(default_factory=dict)
    limits: ResourceLimits = field(default_factory=ResourceLimits)
    # The tenant's slug (providers that group apps by tenant: a Kubernetes namespace each).
    tenant: str = ""
    # The app's health check path (providers that declare it up front: a readiness probe).
    health_path: str = ""

    @property
    def web_count(self) -> int:
        if not self.artefact.runs_processes:
            return 0
        return self.formation.get("web", 0) if "web" in self.artefact.process_types else 0


@dataclass(frozen=True)
class HealthResult:
    ok: bool
    detail: str
    checks: int = 0


@dataclass(frozen=True)
class Route:
    """A host table entry: the hosts of one live app and how to reach it."""

    app_key: str
    hosts: tuple[str, ...]
    # "python" (web processes on sockets, whatever their language: the router's historical
    # name, see selectors.routes_desired) | "static" | "stopped" | "suspended" (503, no upstream)
    kind: str
    web_count: int = 0


def route_kind(build_kind: str | None) -> str:
    """The Route.kind of an app whose live build is of `build_kind` (None: stopped)."""
    if not build_kind:
        return "stopped"
    return "static" if build_kind == "static" else "python"


@dataclass
class ProcessStatus:
    name: str
    deployment_key: str
    process_type: str
    index: int
    state: str  # supervisord's: RUNNING, STARTING, BACKOFF, STOPPED, EXITED, FATAL, …
    pid: int | None = None
    uptime_s: int | None = None
    cpu_s: float | None = None
    memory_bytes: int | None = None
    description: str = ""


@dataclass(frozen=True)
class ProcessExit:
    """A process that ended without being asked to (seen by the runtime, recorded by the
    sampler): `reason` is "oom_killed" (its memory limit) or "crashed" (any other exit)."""

    app_key: str
    deployment_key: str
    process_type: str
    index: int
    at: float  # unix time
    reason: str
    exit_code: int | None = None
    signal: int | None = None


@dataclass(frozen=True)
class UsageSample:
    """One process's use at one moment, from its cgroup: CPU time used so far (cumulative,
    nanoseconds: rates come from two samples) and memory in use now."""

    app_key: str
    deployment_key: str
    process_type: str
    index: int
    at: float  # unix time
    cpu_ns: int
    memory_bytes: int
    memory_limit_bytes: int | None = None


class RuntimeProvider(abc.ABC):
    name: str = ""

    @abc.abstractmethod
    def ensure_ready(self, *, wait_s: float = 0) -> None:
        """Raise RuntimeProblem unless the runtime answers (waiting up to `wait_s`)."""

    @abc.abstractmethod
    def source_dir(self, app_key: str, build_key: str) -> str:
        """Where a build's source tree is fetched to (a directory that does not exist yet)."""

    def prepare_app(self, app_key: str, limits: ResourceLimits) -> None:  # noqa: B027
        """Make what an app needs before its first build (its sandbox); idempotent."""

    @abc.abstractmethod
    def prepare(
        self,
        *,
        app_key: str,
        build_key: str,
        source_dir: str,
        log: LogSink,
        tick: Tick,
        limits: ResourceLimits | None = None,
        source: BuildSource | None = None,
    ) -> Artefact:
        """Build a fetched source tree into an artefact. Raises BuildRefused or RuntimeProblem.
        `source` says where the tree came from (a provider building elsewhere needs it; the
        local provider builds `source_dir` and ignores it)."""

    @abc.abstractmethod
    def run(
        self, spec: ReleaseSpec, command: str, *, log: LogSink, tick: Tick, timeout_s: float
    ) -> int:
        """Run a one-off command with the release's code and config; its exit status."""

    @abc.abstractmethod
    def start(self, spec: ReleaseSpec) -> dict:
        """Start the release's processes; a JSON-able handle for stop() and cleanup."""

    @abc.abstractmethod
    def ensure_running(self, spec: ReleaseSpec) -> list[str]:
        """Start whatever of a started release is missing or dead; what it did."""

    @abc.abstractmethod
    def health(
        self, spec: ReleaseSpec, *, path: str, passes: int, timeout_s: float, tick: Tick
    ) -> HealthResult:
        """Check the started processes directly until `passes` consecutive successes."""

    @abc.abstractmethod
    def route(self, spec: ReleaseSpec) -> None:
        """Send the app's traffic to the started release. Atomic; no router reload."""

    @abc.abstractmethod
    def routed_to(self, app_key: str) -> str | None:
        """The deployment_key the app's traffic goes to now, or None."""

    @abc.abstractmethod
    def sync_routes(self, routes: list[Route]) -> bool:
        """Make the router's host table `routes`; True if it had to change anything."""

    @abc.abstractmethod
    def stop(self, app_key: str, deployment_key: str) -> None:
        """Stop and forget a deployment's processes (idempotent)."""

    @abc.abstractmethod
    def status(self, app_key: str | None = None) -> list[ProcessStatus]:
        """Processes of one app (or of every app), as the runtime sees them."""

    @abc.abstractmethod
    def logs(self, app_key: str, *, deployment_key: str | None = None, lines: int = 100) -> list:
        """The last `lines` lines of output of an app's processes (raw: callers redact)."""

    @abc.abstractmethod
    def program_keys(self) -> set[tuple[str, str]]:
        """(app_key, deployment_key) of every deployment the runtime has processes for."""

    @abc.abstractmethod
    def remove_app(self, app_key: str) -> None:
        """Stop everything of an app and delete its files."""

    def unroute_extra(self, app_key: str, web_count: int) -> None:  # noqa: B027
        """Forget routes to web processes beyond `web_count` (after a scale down)."""

    def delete_build(self, source_dir: str) -> None:  # noqa: B027
        """Delete a build that failed (its files are of no use)."""

    def artefact_present(self, artefact: Artefact) -> bool:
        """Whether a built artefact can still run here (the local provider's files may be gone;
        an image is the registry's)."""
        return True

    def process_exits(self, cursor: str) -> tuple[list[ProcessExit], str]:
        """Exits seen since `cursor` ("" for all kept), and the cursor to pass next time."""
        return [], cursor

    def usage(self, app_key: str | None = None) -> list[UsageSample]:
        """CPU and memory of every running process (of one app), now."""
        return []
