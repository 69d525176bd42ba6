"""The cluster connection (lightkube) and the few verbs the provider uses, on plain dicts.

Every write is a server-side apply by field manager `quayside` with force: Quayside owns what
it applies, and a field someone changed by hand is taken back (that is drift, drift.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx2
from django.conf import settings
from lightkube import ApiError, Client, KubeConfig
from lightkube.codecs import from_dict
from lightkube.core.exceptions import ConfigError
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.apps_v1 import Deployment, ReplicaSet
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import (
    ConfigMap,
    LimitRange,
    Namespace,
    Pod,
    ResourceQuota,
    Secret,
    Service,
)
from lightkube.resources.networking_v1 import Ingress, NetworkPolicy
from lightkube.types import CascadeType

from ..base import RuntimeProblem
from .names import MANAGER

# lightkube's HTTP client logs every request at INFO: one line per API call, dozens per deploy.
logging.getLogger("httpx2").setLevel(logging.WARNING)

HTTPRoute = create_namespaced_resource("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes")
PodMetrics = create_namespaced_resource("metrics.k8s.io", "v1beta1", "PodMetrics", "pods")

KINDS = {
    "Namespace": Namespace,
    "ResourceQuota": ResourceQuota,
    "LimitRange": LimitRange,
    "NetworkPolicy": NetworkPolicy,
    "Secret": Secret,
    "ConfigMap": ConfigMap,
    "Deployment": Deployment,
    "ReplicaSet": ReplicaSet,
    "Service": Service,
    "Ingress": Ingress,
    "HTTPRoute": HTTPRoute,
    "Job": Job,
    "Pod": Pod,
}


def problem(exc: Exception, doing: str) -> RuntimeProblem:
    """A RuntimeProblem a person can act on, from a client error."""
    if isinstance(exc, ApiError):
        status = exc.status
        return RuntimeProblem(
            f"The cluster refused to {doing}: {status.message} ({status.code})",
            permanent=status.code not in (409, 429, 500, 503, 504),
        )
    return RuntimeProblem(f"The cluster could not be reached to {doing}: {exc}", permanent=False)


class Cluster:
    """A lightkube client for the configured cluster, with dict in, dict out."""

    def __init__(self) -> None:
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            try:
                if settings.DEPLOY_K8S_IN_CLUSTER:
                    config = KubeConfig.from_service_account()
                elif settings.DEPLOY_K8S_KUBECONFIG:
                    config = KubeConfig.from_file(settings.DEPLOY_K8S_KUBECONFIG)
                else:
                    config = KubeConfig.from_env()
            except (ConfigError, OSError) as exc:
                raise RuntimeProblem(
                    f"No usable kubeconfig ({exc}): set DEPLOY_K8S_KUBECONFIG or "
                    "DEPLOY_K8S_IN_CLUSTER (docs/kubernetes.md)."
                ) from exc
            context = settings.DEPLOY_K8S_CONTEXT or None
            self._client = Client(
                config.get(context), field_manager=MANAGER, timeout=httpx2.Timeout(15.0)
            )
        return self._client

    def apply(self, obj: dict) -> dict:
        what = f"apply {obj['kind']} {obj['metadata']['name']}"
        try:
            result = self.client.apply(from_dict(obj), field_manager=MANAGER, force=True)
        except (ApiError, httpx2.HTTPError) as exc:
            raise problem(exc, what) from exc
        return result.to_dict()

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict | None:
        try:
            return self.client.get(KINDS[kind], name, namespace=namespace).to_dict()
        except ApiError as exc:
            if exc.status.code == 404:
                return None
            raise problem(exc, f"read {kind} {name}") from exc
        except httpx2.HTTPError as exc:
            raise problem(exc, f"read {kind} {name}") from exc

    def list(self, kind: str, namespace: str | None = "*", **labels: str) -> list[dict]:
        res = KINDS[kind] if kind != "PodMetrics" else PodMetrics
        if kind == "Namespace":
            namespace = None
        elif namespace is None:
            namespace = "*"
        try:
            items = self.client.list(res, namespace=namespace, labels=labels or None)
            return [item.to_dict() for item in items]
        except ApiError as exc:
            if exc.status.code == 404 and kind == "PodMetrics":
                return []  # no metrics API (metrics-server) in this cluster
            raise problem(exc, f"list {kind}") from exc
        except httpx2.HTTPError as exc:
            raise problem(exc, f"list {kind}") from exc

    def delete(self, kind: str, name: str, namespace: str | None = None) -> bool:
        try:
            # A Job's pods go with it (the API's default for Jobs would orphan them).
            cascade = CascadeType.BACKGROUND if kind == "Job" else None
            self.client.delete(KINDS[kind], name, namespace=namespace, cascade=cascade)
        except ApiError as exc:
            if exc.status.code == 404:
                return False
            raise problem(exc, f"delete {kind} {name}") from exc
        except httpx2.HTTPError as exc:
            raise problem(exc, f"delete {kind} {name}") from exc
        return True

    def log(self, pod: str, namespace: str, *, lines: int | None = None) -> Iterator[str]:
        """A pod's output (none while it cannot have any: pending, or gone)."""
        try:
            yield from self.client.log(pod, namespace=namespace, tail_lines=lines, newlines=False)
        except ApiError as exc:
            if exc.status.code in (400, 404):
                return
            raise problem(exc, f"read the log of {pod}") from exc
        except httpx2.HTTPError as exc:
            raise problem(exc, f"read the log of {pod}") from exc
