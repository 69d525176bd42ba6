"""KubernetesProvider: the runtime interface (runtime/base.py) on a Kubernetes cluster.

    prepare(source)   a git build: an image built and pushed by a Job in the cluster (builds.py)
    tenant            Namespace + ResourceQuota + LimitRange + NetworkPolicies (manifests.py)
    start(spec)       the release's Secret and one Deployment per process type, next to the
                      live release's (each deployment key has its own objects)
    health            the Deployments' readiness (the readiness probe is the app's health path)
    route(spec)       the app's Service selects the new deployment's web pods (one atomic
                      update, like the local provider's socket symlinks); the Ingress or
                      HTTPRoute of its hosts exists
    run(command)      a Job with the release's image and config, waited on, its output logged
    stop              delete a deployment's Deployments, Secret and Jobs

Calls that only have an app key find its objects by label across namespaces (names.py)."""

from __future__ import annotations

import secrets
import shutil
import time
from pathlib import Path

from django.conf import settings

from ..base import (
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
from . import builds, drift, manifests, names, status
from .client import Cluster

# What one deployment (or one app) consists of, deleted in this order.
DEPLOYMENT_KINDS = ("Deployment", "Job", "Secret")
APP_KINDS = ("Ingress", "HTTPRoute", "Service", *DEPLOYMENT_KINDS)


class KubernetesProvider(RuntimeProvider):
    name = "kubernetes"
    runs_images = True  # image sources deploy here (apps/deploy/runtime/images/)

    def __init__(self, cluster: Cluster | None = None) -> None:
        self.cluster = cluster or Cluster()

    # --- readiness and builds ------------------------------------------------------------------
    def ensure_ready(self, *, wait_s: float = 0) -> None:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                self.cluster.list("Namespace", **{names.MANAGED_BY: names.MANAGER})
                return
            except RuntimeProblem:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.5)

    def source_dir(self, app_key: str, build_key: str) -> str:
        return str(Path(settings.DEPLOY_RUNTIME_DIR) / "k8s-sources" / app_key / build_key)

    def prepare(
        self, *, app_key, build_key, source_dir, log, tick, limits=None, source=None
    ) -> Artefact:
        """Build the image in the cluster (builds.py): the checkout is only read here (its
        process types and Dockerfile), the build Job fetches `source` at its commit itself.
        The checkout is deleted afterwards: releases run the pushed image, pinned."""
        try:
            builds.check_source(source)
            plan = builds.plan(source_dir)
            log(
                "Process types: "
                + (", ".join(sorted(plan.process_types)) or "none")
                + (f"; release command `{plan.release_command}`." if plan.release_command else ".")
            )
            image = builds.build_in_cluster(
                self.cluster, source, plan, app_key=app_key, build_key=build_key,
                limits=limits or ResourceLimits(), log=log, tick=tick,
            )  # fmt: skip
        finally:
            shutil.rmtree(source_dir, ignore_errors=True)
        return Artefact(
            kind="image",
            source_dir="",
            image=image,
            process_types=plan.process_types,
            release_command=plan.release_command,
        )

    def prepare_app(self, app_key: str, limits: ResourceLimits) -> None:
        """Nothing per app: the tenant's namespace is made (idempotently) by start() and run(),
        which know the tenant."""

    def prepare_tenant(self, tenant: str, limits: ResourceLimits) -> list[dict]:
        """Apply the tenant's Namespace, ResourceQuota, LimitRange and NetworkPolicies."""
        return [self.cluster.apply(obj) for obj in manifests.tenant_objects(tenant, limits)]

    def _check_image(self, spec: ReleaseSpec) -> None:
        if not spec.artefact.image:
            raise RuntimeProblem(
                "This release has no container image: the Kubernetes provider runs images only."
            )

    # --- release command -----------------------------------------------------------------------
    def run(
        self, spec: ReleaseSpec, command: str, *, log: LogSink, tick: Tick, timeout_s: float
    ) -> int:
        self._check_image(spec)
        self.prepare_tenant(spec.tenant, spec.limits)
        self._apply_secret(spec)
        name = f"{names.base(spec.app_key)}-{spec.deployment_key}-release-{secrets.token_hex(2)}"
        ns = names.namespace(spec.tenant)
        self.cluster.apply(manifests.release_job(spec, command, name, timeout_s))
        deadline = time.monotonic() + timeout_s + 30
        shown = 0
        while True:
            tick()
            job = self.cluster.get("Job", name, ns) or {}
            pods = self.cluster.list("Pod", ns, **{"job-name": name})
            for pod in pods[:1]:
                lines = list(self.cluster.log(pod["metadata"]["name"], ns))
                for line in lines[shown:]:
                    log(line)
                shown = max(shown, len(lines))
            conditions = {
                c["type"]: c
                for c in (job.get("status") or {}).get("conditions") or []
                if c.get("status") == "True"
            }
            if "Complete" in conditions:
                return 0
            if "Failed" in conditions:
                log(f"The release Job failed: {conditions['Failed'].get('message', '')}".strip())
                return _exit_code(pods) or 1
            if time.monotonic() > deadline:
                log(f"The release command did not finish within {timeout_s:.0f} s.")
                self.cluster.delete("Job", name, ns)
                return 124
            time.sleep(settings.DEPLOY_K8S_POLL_S)

    # --- processes -----------------------------------------------------------------------------
    def _apply_secret(self, spec: ReleaseSpec) -> None:
        obj = manifests.secret(spec)
        live = self.cluster.get("Secret", obj["metadata"]["name"], obj["metadata"]["namespace"])
        if live is None:
            self.cluster.apply(obj)
        elif live.get("data") != obj["data"]:
            drift.converge(self.cluster, [obj])  # immutable: replaced

    def start(self, spec: ReleaseSpec) -> dict:
        self._check_image(spec)
        self.prepare_tenant(spec.tenant, spec.limits)
        self._apply_secret(spec)
        applied = [self.cluster.apply(obj) for obj in manifests.deployments(spec)]
        return {
            "namespace": names.namespace(spec.tenant),
            "secret": names.secret(spec.app_key, spec.deployment_key),
            "deployments": [obj["metadata"]["name"] for obj in applied],
        }

    def desired(self, spec: ReleaseSpec) -> list[dict]:
        """Everything a live release needs, as the provider would apply it."""
        objects = [
            *manifests.tenant_objects(spec.tenant, spec.limits),
            manifests.secret(spec),
            *manifests.deployments(spec),
        ]
        if spec.web_count and self.routed_to(spec.app_key) in (None, spec.deployment_key):
            objects.append(manifests.service(spec))
        return objects

    def ensure_running(self, spec: ReleaseSpec) -> list[str]:
        """Repair the live release's drift (missing or changed objects) and record it."""
        self._check_image(spec)
        drifts = drift.converge(self.cluster, self.desired(spec))
        drift.record(drifts, spec.tenant)
        return [d.describe() for d in drifts]

    def health(
        self, spec: ReleaseSpec, *, path: str, passes: int, timeout_s: float, tick: Tick
    ) -> HealthResult:
        """Ready when every process type's Deployment has all its replicas ready (their
        readiness probe is GET `path`); fails early on a crash loop, an OOM kill, an image
        that cannot be pulled or pods the quota refuses."""
        ns = names.namespace(spec.tenant)
        wanted = {
            names.deployment(spec.app_key, spec.deployment_key, ptype): count
            for ptype, count in spec.formation.items()
            if ptype in spec.artefact.process_types and count > 0
        }
        deadline = time.monotonic() + timeout_s
        checks = 0
        while True:
            tick()
            checks += 1
            problems = [
                f"{p.process_type}.{p.index}: {p.description}"
                for p in self.status(spec.app_key)
                if p.deployment_key == spec.deployment_key and p.state in ("BACKOFF", "FATAL")
            ]
            if problems:
                return HealthResult(False, "; ".join(problems), checks)
            ready = {}
            for name in wanted:
                obj = self.cluster.get("Deployment", name, ns) or {}
                ready[name] = (obj.get("status") or {}).get("readyReplicas") or 0
            if all(ready[name] >= count for name, count in wanted.items()):
                total = sum(wanted.values())
                return HealthResult(True, f"{total} process(es) ready", checks)
            if time.monotonic() >= deadline:
                waiting = ", ".join(f"{n} {ready[n]}/{c}" for n, c in wanted.items())
                return HealthResult(False, f"not ready after {timeout_s:.0f} s ({waiting})", checks)
            time.sleep(settings.DEPLOY_K8S_POLL_S)

    # --- traffic -------------------------------------------------------------------------------
    def route(self, spec: ReleaseSpec) -> None:
        self.cluster.apply(manifests.service(spec))
        hosts = (spec.hostname,) if spec.hostname else ()
        if hosts:
            route = Route(app_key=spec.app_key, hosts=hosts, kind="python", web_count=1)
            drift.converge(
                self.cluster, manifests.http_routes(spec.tenant, route), only_missing=True
            )

    def _services(self, **labels: str) -> list[dict]:
        return self.cluster.list("Service", **{names.MANAGED_BY: names.MANAGER, **labels})

    def routed_to(self, app_key: str) -> str | None:
        for service in self._services(**{names.APP: app_key}):
            return (service.get("spec", {}).get("selector") or {}).get(names.DEPLOYMENT)
        return None

    def sync_routes(self, routes: list[Route]) -> bool:
        """Each routed app's Ingress (or HTTPRoute) names its hosts; those of apps no longer
        routed, or of a suspended tenant (kind "suspended": no traffic may reach its pods,
        even before they are stopped), are deleted. Apps without a Service yet (never
        switched) are left alone."""
        routes = [r for r in routes if r.kind != "suspended"]
        tenants = {
            s["metadata"]["labels"][names.APP]: s["metadata"]["labels"][names.TENANT]
            for s in self._services()
        }
        desired = [
            obj
            for r in routes
            if r.app_key in tenants and r.hosts
            for obj in manifests.http_routes(tenants[r.app_key], r)
        ]
        drifts = drift.converge(self.cluster, desired)
        kind = "HTTPRoute" if settings.DEPLOY_K8S_ROUTING == "gateway" else "Ingress"
        keep = {r.app_key for r in routes}
        wanted = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in desired}
        removed = False
        for obj in self.cluster.list(kind, **{names.MANAGED_BY: names.MANAGER}):
            meta = obj["metadata"]
            stale_chunk = (meta.get("namespace"), meta["name"]) not in wanted and meta[
                "labels"
            ].get(names.APP) in {o["metadata"]["labels"].get(names.APP) for o in desired}
            if meta["labels"].get(names.APP) not in keep or stale_chunk:
                removed |= self.cluster.delete(
                    kind, obj["metadata"]["name"], obj["metadata"]["namespace"]
                )
        return bool(drifts) or removed

    # --- stopping ------------------------------------------------------------------------------
    def _delete_labelled(self, kinds, **labels: str) -> None:
        for kind in kinds:
            for obj in self.cluster.list(kind, **{names.MANAGED_BY: names.MANAGER, **labels}):
                meta = obj["metadata"]
                self.cluster.delete(kind, meta["name"], meta.get("namespace"))

    def stop(self, app_key: str, deployment_key: str) -> None:
        self._delete_labelled(
            DEPLOYMENT_KINDS, **{names.APP: app_key, names.DEPLOYMENT: deployment_key}
        )

    def remove_app(self, app_key: str) -> None:
        kinds = [
            k
            for k in APP_KINDS
            if k != ("Ingress" if settings.DEPLOY_K8S_ROUTING == "gateway" else "HTTPRoute")
        ]
        self._delete_labelled(kinds, **{names.APP: app_key})

    def program_keys(self) -> set[tuple[str, str]]:
        return {
            (obj["metadata"]["labels"][names.APP], obj["metadata"]["labels"][names.DEPLOYMENT])
            for obj in self.cluster.list("Deployment", **{names.MANAGED_BY: names.MANAGER})
        }

    # --- what runs -----------------------------------------------------------------------------
    def _pods(self, app_key: str | None, **labels: str) -> list[dict]:
        selector = {names.MANAGED_BY: names.MANAGER, **labels}
        if app_key:
            selector[names.APP] = app_key
        return self.cluster.list("Pod", **selector)

    def status(self, app_key: str | None = None) -> list[ProcessStatus]:
        selector = {names.MANAGED_BY: names.MANAGER}
        if app_key:
            selector[names.APP] = app_key
        deployments = self.cluster.list("Deployment", **selector)
        return status.process_statuses(self._pods(app_key), deployments)

    def logs(self, app_key: str, *, deployment_key: str | None = None, lines: int = 100) -> list:
        labels = {names.ROLE: "process"}
        if deployment_key:
            labels[names.DEPLOYMENT] = deployment_key
        pods = self._pods(app_key, **labels)
        namespaces = {p["metadata"]["name"]: p["metadata"]["namespace"] for p in pods}
        out: list[str] = []
        for process in status.process_statuses(pods, [])[:8]:
            pod_ns = namespaces[process.name]
            prefix = f"{process.deployment_key}-{process.process_type}-{process.index}"
            out.extend(
                f"{prefix}: {line}" for line in self.cluster.log(process.name, pod_ns, lines=lines)
            )
        return out[-lines:]

    def process_exits(self, cursor: str) -> tuple[list[ProcessExit], str]:
        found = [(key, e) for key, e in status.exits(self._pods(None)) if key > cursor]
        return [e for _, e in found], max([cursor, *(key for key, _ in found)])

    def usage(self, app_key: str | None = None) -> list[UsageSample]:
        selector = {names.MANAGED_BY: names.MANAGER, names.ROLE: "process"}
        if app_key:
            selector[names.APP] = app_key
        metrics = self.cluster.list("PodMetrics", **selector)
        if not metrics:
            return []
        pods = {p["metadata"]["name"]: p for p in self._pods(app_key, **{names.ROLE: "process"})}
        return status.usage(metrics, pods)


def _exit_code(pods: list[dict]) -> int | None:
    for pod in pods:
        for container in (pod.get("status") or {}).get("containerStatuses") or []:
            terminated = (container.get("state") or {}).get("terminated")
            if terminated and terminated.get("exitCode"):
                return int(terminated["exitCode"])
    return None
