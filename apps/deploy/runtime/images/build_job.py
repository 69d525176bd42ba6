"""The in-cluster image build, as Kubernetes manifests (plain dicts; nothing here talks to a
cluster: the Kubernetes provider applies them).

    build_job(spec)          a batch/v1 Job running Kaniko or rootless BuildKit
                             (DEPLOY_IMAGE_BUILDER), which pushes <registry>/<tenant>/<app>:<build>
    dockerfile_config_map()  the Dockerfile Quayside wrote (dockerfile.py), when the repository
                             has none, mounted into the builder at /quayside/dockerfile
    push_secret()            a kubernetes.io/dockerconfigjson Secret with the push credentials
    digest_from_pods()       the pushed digest, read back from the builder's termination message

The builder writes the digest to /dev/termination-log (Kaniko: --digest-file; BuildKit:
--metadata-file, JSON with containerimage.digest), which the kubelet puts in the finished
container's status (`state.terminated.message`), so no log parsing and no registry round trip.

Builders need more than Pod Security `restricted` allows (Kaniko runs as root; rootless BuildKit
needs seccomp and AppArmor unconfined), so Jobs go to DEPLOY_IMAGE_BUILD_NAMESPACE, never a
tenant's namespace; the pod gets no service account token and only the push Secret."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

from django.conf import settings

from ..base import ResourceLimits
from .reference import ImageReference, is_digest, parse

CONTAINER = "builder"
DOCKERFILE_DIR = "/quayside/dockerfile"
TERMINATION_LOG = "/dev/termination-log"
BUILDERS = ("kaniko", "buildkit")
JOB_TTL_S = 3600  # finished build Jobs (and their pods, for the digest) are kept this long


@dataclass(frozen=True)
class BuildJobSpec:
    app_key: str  # App.pk.hex
    app_name: str
    tenant_slug: str
    build_key: str  # Build.pk.hex[:12]
    # What the builder fetches: a git context ("git://host/repo.git#<commit>" for Kaniko,
    # "https://host/repo.git#<commit>" for BuildKit) or a tarball URL Quayside serves.
    context: str
    destination: str  # <registry>/<tenant>/<app>:<build> (destination() makes it)
    push_secret: str  # name of the dockerconfigjson Secret (push_secret() makes it)
    dockerfile_config_map: str = ""  # set when Quayside wrote the Dockerfile
    limits: ResourceLimits = field(default_factory=ResourceLimits)
    builder: str = ""  # "" → settings.DEPLOY_IMAGE_BUILDER
    namespace: str = ""  # "" → settings.DEPLOY_IMAGE_BUILD_NAMESPACE
    timeout_s: int = 0  # 0 → settings.DEPLOY_BUILD_TIMEOUT_S


def destination(*, tenant_slug: str, app_name: str, build_key: str, registry: str = "") -> str:
    """`<registry>/<tenant>/<app>:<build>`, checked by the reference parser."""
    registry = (registry or settings.DEPLOY_IMAGE_REGISTRY).rstrip("/")
    if not registry:
        raise ValueError("Set DEPLOY_IMAGE_REGISTRY: where builds are pushed.")
    text = f"{registry}/{tenant_slug}/{app_name}:{build_key}"
    parse(text)  # raises InvalidReference for a bad registry setting
    return text


def _names(spec: BuildJobSpec) -> dict[str, str]:
    return {
        "app.kubernetes.io/managed-by": "quayside",
        "app.kubernetes.io/component": "image-build",
        "quayside.io/app": spec.app_key,
        "quayside.io/build": spec.build_key,
    }


def job_name(spec: BuildJobSpec) -> str:
    return f"build-{spec.app_key[:12]}-{spec.build_key}"[:63]


def _resources(limits: ResourceLimits) -> dict:
    amounts = {
        "cpu": f"{limits.cpu_millicores}m",
        "memory": f"{limits.memory_mb}Mi",
        "ephemeral-storage": f"{limits.disk_mb}Mi",
    }
    return {"requests": dict(amounts), "limits": dict(amounts)}


def _kaniko(spec: BuildJobSpec) -> tuple[dict, dict]:
    dockerfile = f"{DOCKERFILE_DIR}/Dockerfile" if spec.dockerfile_config_map else "Dockerfile"
    container = {
        "image": settings.DEPLOY_IMAGE_KANIKO_IMAGE,
        "args": [
            f"--context={spec.context}",
            f"--dockerfile={dockerfile}",
            f"--destination={spec.destination}",
            f"--digest-file={TERMINATION_LOG}",
            "--snapshot-mode=redo",
            "--ignore-path=/quayside",
        ],
        "env": [{"name": "DOCKER_CONFIG", "value": "/kaniko/.docker"}],
        "volumeMounts": [{"name": "push", "mountPath": "/kaniko/.docker", "readOnly": True}],
        "securityContext": {
            # Kaniko unpacks images into its own root file system: it needs root in its
            # container, and nothing more (no privileged mode, no added capabilities).
            "allowPrivilegeEscalation": False,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    return container, {}


def _buildkit(spec: BuildJobSpec) -> tuple[dict, dict]:
    args = [
        "build",
        "--frontend=dockerfile.v0",
        "--opt",
        f"context={spec.context}",
        "--output",
        f"type=image,name={spec.destination},push=true",
        f"--metadata-file={TERMINATION_LOG}",
    ]
    if spec.dockerfile_config_map:
        args += ["--local", f"dockerfile={DOCKERFILE_DIR}"]
    container = {
        "image": settings.DEPLOY_IMAGE_BUILDKIT_IMAGE,
        "command": ["buildctl-daemonless.sh"],
        "args": args,
        "env": [
            {"name": "BUILDKITD_FLAGS", "value": "--oci-worker-no-process-sandbox"},
            {"name": "DOCKER_CONFIG", "value": "/home/user/.docker"},
        ],
        "volumeMounts": [
            {"name": "push", "mountPath": "/home/user/.docker", "readOnly": True},
            {"name": "buildkitd", "mountPath": "/home/user/.local/share/buildkit"},
        ],
        # What rootless BuildKit needs (its examples/kubernetes/job.rootless.yaml): its user,
        # and seccomp and AppArmor unconfined so it can make user namespaces and mounts.
        "securityContext": {
            "runAsUser": 1000,
            "runAsGroup": 1000,
            "runAsNonRoot": True,
            "seccompProfile": {"type": "Unconfined"},
            "appArmorProfile": {"type": "Unconfined"},
        },
    }
    return container, {"name": "buildkitd", "emptyDir": {}}


def build_job(spec: BuildJobSpec) -> dict:
    """The batch/v1 Job that builds and pushes `spec.destination`."""
    builder = spec.builder or settings.DEPLOY_IMAGE_BUILDER
    if builder not in BUILDERS:
        raise ValueError(f"DEPLOY_IMAGE_BUILDER is {builder!r}: use kaniko or buildkit.")
    container, extra_volume = _kaniko(spec) if builder == "kaniko" else _buildkit(spec)
    container = {
        "name": CONTAINER,
        **container,
        "resources": _resources(spec.limits),
        "terminationMessagePath": TERMINATION_LOG,
        "terminationMessagePolicy": "File",
    }
    volumes = [
        {
            "name": "push",
            "secret": {
                "secretName": spec.push_secret,
                "items": [{"key": ".dockerconfigjson", "path": "config.json"}],
            },
        }
    ]
    if extra_volume:
        volumes.append(extra_volume)
    if spec.dockerfile_config_map:
        volumes.append({"name": "dockerfile", "configMap": {"name": spec.dockerfile_config_map}})
        container["volumeMounts"].append(
            {"name": "dockerfile", "mountPath": DOCKERFILE_DIR, "readOnly": True}
        )
    labels = _names(spec)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name(spec),
            "namespace": spec.namespace or settings.DEPLOY_IMAGE_BUILD_NAMESPACE,
            "labels": labels,
            "annotations": {
                "quayside.io/app-name": spec.app_name,
                "quayside.io/tenant": spec.tenant_slug,
                "quayside.io/destination": spec.destination,
            },
        },
        "spec": {
            "backoffLimit": 0,  # a failed build is reported, not retried
            "activeDeadlineSeconds": spec.timeout_s or settings.DEPLOY_BUILD_TIMEOUT_S,
            "ttlSecondsAfterFinished": JOB_TTL_S,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    }


def dockerfile_config_map(spec: BuildJobSpec, text: str) -> dict:
    """The ConfigMap holding the Dockerfile Quayside wrote, named spec.dockerfile_config_map."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": spec.dockerfile_config_map,
            "namespace": spec.namespace or settings.DEPLOY_IMAGE_BUILD_NAMESPACE,
            "labels": _names(spec),
        },
        "data": {"Dockerfile": text},
    }


def dockerconfigjson(registry: str, username: str, password: str) -> str:
    """The `.dockerconfigjson` document for one registry host."""
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    return json.dumps(
        {"auths": {registry: {"username": username, "password": password, "auth": auth}}}
    )


def push_secret(
    *, name: str, namespace: str, registry: str, username: str, password: str, labels=None
) -> dict:
    """A kubernetes.io/dockerconfigjson Secret (for pushes, or an image app's pulls)."""
    document = dockerconfigjson(registry, username, password)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/dockerconfigjson",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "quayside", **(labels or {})},
        },
        "data": {".dockerconfigjson": base64.b64encode(document.encode()).decode()},
    }


def registry_of(reference: str) -> str:
    """The host a dockerconfigjson must name for `reference` (Docker Hub's legacy key)."""
    ref: ImageReference = parse(reference)
    return "https://index.docker.io/v1/" if ref.registry == "docker.io" else ref.registry


def digest_from_message(message: str) -> str | None:
    """The digest in a builder's termination message (Kaniko: the digest alone; BuildKit: its
    metadata JSON)."""
    text = (message or "").strip()
    if is_digest(text):
        return text
    try:
        data = json.loads(text)
    except ValueError:
        return None
    digest = data.get("containerimage.digest") if isinstance(data, dict) else None
    return digest if isinstance(digest, str) and is_digest(digest) else None


def digest_from_pods(pods: list[dict]) -> str | None:
    """The digest a finished build Job pushed, from its pods (API objects as dicts): the
    builder container that terminated with exit code 0. None when there is none (yet)."""
    for pod in pods:
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            if status.get("name") != CONTAINER:
                continue
            terminated = (status.get("state") or {}).get("terminated") or {}
            if terminated.get("exitCode") == 0:
                digest = digest_from_message(terminated.get("message", ""))
                if digest:
                    return digest
    return None
