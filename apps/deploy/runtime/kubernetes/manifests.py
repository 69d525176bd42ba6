"""What the Kubernetes provider applies, as plain dicts: pure functions of a ReleaseSpec (or a
tenant and its limits) and the settings, so that tests can validate every one against the
official schemas without a cluster.

Entitlements (docs/kubernetes.md "What each entitlement maps to"):
- memory_mb, cpu_millicores: each container's limits (requests: all of the memory, a quarter
  of the CPU), the LimitRange's max/default, and ResourceQuota limits.memory/limits.cpu for the
  namespace's pod budget;
- disk_mb: each container's ephemeral-storage limit and the size of its /tmp emptyDir (the
  root filesystem is read-only);
- pids: Kubernetes has no per-pod pids field; the kubelet's `podPidsLimit` is node-wide. The
  value is recorded as the namespace annotation quayside.dev/pids-limit, and the operator sets
  the kubelet's podPidsLimit (docs/kubernetes.md);
- processes: the ResourceQuota's `pods` = 2 x processes + 1 (a release starts next to the live
  one, and its release command runs in one more pod);
- apps: `count/services` and `count/ingresses.networking.k8s.io` (one of each per app)."""

from __future__ import annotations

import base64
import dataclasses

from django.conf import settings

from ..base import ReleaseSpec, ResourceLimits, Route
from . import names

PRIVATE_V4 = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "127.0.0.0/8",
    "0.0.0.0/8",
]
PRIVATE_V6 = ["fc00::/7", "fe80::/10", "::1/128"]
RUN_AS = 10001


def _meta(name: str, namespace: str | None, labels: dict, annotations: dict | None = None):
    meta: dict = {"name": name, "labels": dict(labels)}
    if namespace is not None:
        meta["namespace"] = namespace
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def processes_budget(limits: ResourceLimits) -> int:
    processes = limits.processes
    if processes is None:
        processes = settings.DEPLOY_K8S_DEFAULT_PROCESSES
    return 2 * processes + 1


# --- tenant ----------------------------------------------------------------------------------
def tenant_objects(tenant: str, limits: ResourceLimits) -> list[dict]:
    """A tenant's Namespace, ResourceQuota, LimitRange and NetworkPolicies."""
    ns = names.namespace(tenant)
    labels = {names.MANAGED_BY: names.MANAGER, names.TENANT: names.tenant_label(tenant)}
    return [
        namespace(tenant, limits),
        resource_quota(ns, labels, limits),
        limit_range(ns, labels, limits),
        *network_policies(ns, labels),
    ]


def namespace(tenant: str, limits: ResourceLimits) -> dict:
    labels = {
        names.MANAGED_BY: names.MANAGER,
        names.TENANT: names.tenant_label(tenant),
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
    }
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": _meta(names.namespace(tenant), None, labels, {names.PIDS: str(limits.pids)}),
    }


def resource_quota(ns: str, labels: dict, limits: ResourceLimits) -> dict:
    pods = processes_budget(limits)
    hard = {
        "pods": str(pods),
        "limits.memory": f"{pods * limits.memory_mb}Mi",
        "limits.cpu": f"{pods * limits.cpu_millicores}m",
        "limits.ephemeral-storage": f"{pods * limits.disk_mb}Mi",
    }
    if limits.apps is not None:
        hard["count/services"] = str(limits.apps)
        hard["count/ingresses.networking.k8s.io"] = str(limits.apps)
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": _meta("quayside", ns, labels),
        "spec": {"hard": hard},
    }


def container_resources(limits: ResourceLimits) -> dict:
    return {
        "limits": {
            "memory": f"{limits.memory_mb}Mi",
            "cpu": f"{limits.cpu_millicores}m",
            "ephemeral-storage": f"{limits.disk_mb}Mi",
        },
        "requests": {
            "memory": f"{limits.memory_mb}Mi",
            "cpu": f"{max(10, limits.cpu_millicores // 4)}m",
            "ephemeral-storage": f"{min(limits.disk_mb, 64)}Mi",
        },
    }


def limit_range(ns: str, labels: dict, limits: ResourceLimits) -> dict:
    resources = container_resources(limits)
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": _meta("quayside", ns, labels),
        "spec": {
            "limits": [
                {
                    "type": "Container",
                    "max": resources["limits"],
                    "default": resources["limits"],
                    "defaultRequest": resources["requests"],
                }
            ]
        },
    }


def network_policies(ns: str, labels: dict) -> list[dict]:
    """Deny everything; let the ingress controller in; let DNS, the internet and the operator's
    allowed networks out (never cluster-internal or private ranges)."""
    ingress_from: dict = {
        "namespaceSelector": {"matchLabels": dict(settings.DEPLOY_K8S_INGRESS_NAMESPACE_LABELS)}
    }
    if settings.DEPLOY_K8S_INGRESS_POD_LABELS:
        ingress_from["podSelector"] = {"matchLabels": dict(settings.DEPLOY_K8S_INGRESS_POD_LABELS)}
    dns = {
        "to": [
            {
                "namespaceSelector": {
                    "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                },
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            }
        ],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }
    internet = {
        "to": [
            {"ipBlock": {"cidr": "0.0.0.0/0", "except": PRIVATE_V4}},
            {"ipBlock": {"cidr": "::/0", "except": PRIVATE_V6}},
        ]
    }
    egress = [dns, internet]
    if settings.DEPLOY_K8S_ALLOWED_NETWORKS:
        egress.append(
            {"to": [{"ipBlock": {"cidr": cidr}} for cidr in settings.DEPLOY_K8S_ALLOWED_NETWORKS]}
        )

    def policy(name: str, spec: dict) -> dict:
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": _meta(name, ns, labels),
            "spec": spec,
        }

    return [
        policy("default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        policy(
            "allow-ingress-controller",
            {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [ingress_from]}]},
        ),
        policy("allow-egress", {"podSelector": {}, "policyTypes": ["Egress"], "egress": egress}),
    ]


# --- release ---------------------------------------------------------------------------------
def labels_for(spec: ReleaseSpec) -> dict[str, str]:
    return {**names.app_labels(spec.tenant, spec.app_key), names.DEPLOYMENT: spec.deployment_key}


def secret(spec: ReleaseSpec) -> dict:
    """The release's config (the build's defaults under the app's own): values only here."""
    env = {**spec.artefact.env, **spec.env}
    data = {key: base64.b64encode(value.encode()).decode() for key, value in sorted(env.items())}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(
            names.secret(spec.app_key, spec.deployment_key),
            names.namespace(spec.tenant),
            labels_for(spec),
        ),
        "type": "Opaque",
        "immutable": True,
        "data": data,
    }


def pod_spec(spec: ReleaseSpec, command: str, *, web: bool, restart: str = "Always") -> dict:
    """A restricted pod: non-root, no service account token, read-only root, /tmp sized by
    disk, the release's Secret as its environment."""
    container: dict = {
        "name": names.CONTAINER,
        "image": spec.artefact.image,
        "envFrom": [{"secretRef": {"name": names.secret(spec.app_key, spec.deployment_key)}}],
        "env": [
            {"name": "PORT", "value": str(settings.DEPLOY_K8S_WEB_PORT)},
            {"name": "HOME", "value": "/tmp"},  # noqa: S108 - the pod's own emptyDir
        ],
        "resources": container_resources(spec.limits),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108 - its emptyDir
    }
    if command:  # an image source's process with no command runs the image's entrypoint
        container["command"] = ["/bin/sh", "-c", command]
    if web:
        container["ports"] = [
            {"name": "http", "containerPort": settings.DEPLOY_K8S_WEB_PORT, "protocol": "TCP"}
        ]
        container["readinessProbe"] = {
            "httpGet": {"path": spec.health_path or settings.DEPLOY_HEALTH_PATH, "port": "http"},
            "periodSeconds": 2,
            "timeoutSeconds": 2,
            "successThreshold": max(1, settings.DEPLOY_HEALTH_PASSES),
            "failureThreshold": 3,
        }
    pod: dict = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "restartPolicy": restart,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "fsGroup": RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": f"{spec.limits.disk_mb}Mi"}}],
    }
    if settings.DEPLOY_K8S_IMAGE_PULL_SECRET:
        pod["imagePullSecrets"] = [{"name": settings.DEPLOY_K8S_IMAGE_PULL_SECRET}]
    return pod


def deployment(spec: ReleaseSpec, ptype: str) -> dict:
    labels = {
        **labels_for(spec),
        names.PROCESS_TYPE: names.process_type(ptype),
        names.ROLE: "process",
    }
    annotations = {"quayside.dev/release": spec.labels.get("release", "")}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(
            names.deployment(spec.app_key, spec.deployment_key, ptype),
            names.namespace(spec.tenant),
            labels,
            annotations,
        ),
        "spec": {
            "replicas": spec.formation.get(ptype, 0),
            "revisionHistoryLimit": 2,
            "selector": {"matchLabels": labels},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {
                "metadata": {"labels": labels, "annotations": annotations},
                "spec": pod_spec(spec, spec.artefact.process_types[ptype], web=ptype == "web"),
            },
        },
    }


def deployments(spec: ReleaseSpec) -> list[dict]:
    return [deployment(spec, ptype) for ptype in sorted(spec.artefact.process_types)]


def release_job(spec: ReleaseSpec, command: str, name: str, timeout_s: float) -> dict:
    labels = {**labels_for(spec), names.ROLE: "release"}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _meta(name, names.namespace(spec.tenant), labels),
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": max(1, int(timeout_s)),
            "ttlSecondsAfterFinished": 86400,
            "template": {
                "metadata": {"labels": labels},
                "spec": pod_spec(spec, command, web=False, restart="Never"),
            },
        },
    }


def service(spec: ReleaseSpec) -> dict:
    """The app's stable Service; its selector names the routed deployment (route() switches
    it, atomically, like the local provider's socket symlinks)."""
    selector = {
        names.APP: spec.app_key,
        names.DEPLOYMENT: spec.deployment_key,
        names.PROCESS_TYPE: "web",
    }
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(
            names.service(spec.app_key),
            names.namespace(spec.tenant),
            names.app_labels(spec.tenant, spec.app_key),
        ),
        "spec": {
            "type": "ClusterIP",
            "selector": selector,
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }


HTTPROUTE_MAX_HOSTNAMES = 16  # gateway.networking.k8s.io/v1 HTTPRoute spec.hostnames maxItems


def http_routes(tenant: str, route: Route) -> list[dict]:
    """What routes an app's hosts: one Ingress, or HTTPRoutes of at most 16 hostnames each (the
    CRD's limit: an app with many custom domains gets several, `<name>`, `<name>-1`, …)."""
    if settings.DEPLOY_K8S_ROUTING != "gateway" or len(route.hosts) <= HTTPROUTE_MAX_HOSTNAMES:
        return [http_route_objects(tenant, route)]
    hosts = sorted(route.hosts)
    out = []
    for number, start in enumerate(range(0, len(hosts), HTTPROUTE_MAX_HOSTNAMES)):
        chunk = dataclasses.replace(
            route, hosts=tuple(hosts[start : start + HTTPROUTE_MAX_HOSTNAMES])
        )
        obj = http_route_objects(tenant, chunk)
        if number:
            obj["metadata"]["name"] = f"{obj['metadata']['name']}-{number}"
        out.append(obj)
    return out


def http_route_objects(tenant: str, route: Route) -> dict:
    """An Ingress (or a Gateway API HTTPRoute) for an app's hosts, with cert-manager's
    annotation when a cluster issuer is configured."""
    ns = names.namespace(tenant)
    labels = names.app_labels(tenant, route.app_key)
    hosts = sorted(route.hosts)
    issuer = settings.DEPLOY_K8S_CLUSTER_ISSUER
    annotations = {names.ISSUER: issuer} if issuer else None
    backend = names.service(route.app_key)
    if settings.DEPLOY_K8S_ROUTING == "gateway":
        gw_ns, _, gw_name = settings.DEPLOY_K8S_GATEWAY.rpartition("/")
        parent = {"name": gw_name, **({"namespace": gw_ns} if gw_ns else {})}
        return {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            # No cert-manager annotation: its gateway-shim reads Gateways, not HTTPRoutes. TLS
            # comes from the operator's Gateway listeners (docs/kubernetes.md).
            "metadata": _meta(names.route(route.app_key), ns, labels, None),
            "spec": {
                "parentRefs": [parent],
                "hostnames": hosts,
                "rules": [{"backendRefs": [{"name": backend, "port": 80}]}],
            },
        }
    spec: dict = {
        "ingressClassName": settings.DEPLOY_K8S_INGRESS_CLASS,
        "rules": [
            {
                "host": host,
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": backend, "port": {"name": "http"}}},
                        }
                    ]
                },
            }
            for host in hosts
        ],
    }
    if issuer:
        spec["tls"] = [{"hosts": hosts, "secretName": names.tls_secret(route.app_key)}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": _meta(names.route(route.app_key), ns, labels, annotations),
        "spec": spec,
    }
