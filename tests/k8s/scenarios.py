"""Provider scenarios, written once for any runtime provider: what a later provider contract
suite runs against both (local for real, kubernetes on the emulator).

A `Driver` wraps one provider with what the scenarios need and the provider cannot say by itself
(how to make an artefact, how to wait): `deploy(spec)` runs the pipeline's calls in its order
(release command, start, health, route) and returns the HealthResult; `status`, `stop`, …
are the provider's. `KubernetesDriver` is the one for the emulator; a `LocalDriver` would build
the artefact from a git repository instead of naming an image."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from apps.deploy.runtime.base import (
    Artefact,
    HealthResult,
    ProcessStatus,
    ReleaseSpec,
    ResourceLimits,
    RuntimeProvider,
)


@dataclasses.dataclass
class Driver:
    provider: RuntimeProvider
    health_timeout_s: float = 5.0
    lines: list[str] = dataclasses.field(default_factory=list)

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

    def status(self, app_key: str) -> list[ProcessStatus]:
        return self.provider.status(app_key)

    def states(self, app_key: str) -> dict[str, list[str]]:
        """{deployment_key: [state, …]} of an app's processes."""
        out: dict[str, list[str]] = {}
        for process in self.status(app_key):
            out.setdefault(process.deployment_key, []).append(process.state)
        return out


class KubernetesDriver(Driver):
    """The Kubernetes provider on the emulator: artefacts are images (the fake controller
    decides how a pod of an image behaves)."""

    def __init__(self, provider: RuntimeProvider, emulator, **kwargs) -> None:
        super().__init__(provider, **kwargs)
        self.emulator = emulator

    def artefact(self, image: str = "registry.test/demo@sha256:" + "a" * 64,
                 **process_types: str) -> Artefact:  # fmt: skip
        return Artefact(
            kind="image",
            source_dir="",
            image=image,
            process_types=process_types or {"web": "gunicorn app:app", "worker": "celery worker"},
        )

    def wait(self, predicate: Callable, timeout: float = 5.0):
        from .emulator import wait_for

        return wait_for(predicate, timeout)
