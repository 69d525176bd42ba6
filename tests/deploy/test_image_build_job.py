"""The in-cluster build Job, its Dockerfile ConfigMap and push Secret: validated against the
official Kubernetes schemas (kubernetes-validate, strict: no unknown fields) for 1.30 to 1.34,
and the digest read back from a finished builder pod's termination message."""

from __future__ import annotations

import base64
import json

import kubernetes_validate
import pytest

from apps.deploy.runtime.base import ResourceLimits
from apps.deploy.runtime.images.build_job import (
    BuildJobSpec,
    build_job,
    destination,
    digest_from_message,
    digest_from_pods,
    dockerfile_config_map,
    push_secret,
    registry_of,
)
from apps.deploy.runtime.images.reference import InvalidReference

VERSIONS = ("1.30", "1.31", "1.32", "1.33", "1.34")
DIGEST = "sha256:" + "0123456789abcdef" * 4


def _spec(**overrides) -> BuildJobSpec:
    values = dict(
        app_key="7d4c1f7e3b9e4d53a3a25b6f0c9d8e21", app_name="shop", tenant_slug="acme",
        build_key="5e6f7a8b9c0d", context="git://git.example.com/acme/shop.git#" + "a" * 40,
        destination="registry.example.com/quayside/acme/shop:5e6f7a8b9c0d",
        push_secret="quayside-push", limits=ResourceLimits(memory_mb=1024, cpu_millicores=1500,
                                                           pids=256, disk_mb=4096),
    )  # fmt: skip
    values.update(overrides)
    return BuildJobSpec(**values)


def _valid(manifest: dict) -> None:
    for version in VERSIONS:
        kubernetes_validate.validate(manifest, version, strict=True)


@pytest.mark.parametrize("builder", ["kaniko", "buildkit"])
@pytest.mark.parametrize("generated", [False, True])
def test_the_job_validates_for_every_supported_version(builder, generated, settings):
    spec = _spec(builder=builder, dockerfile_config_map="build-5e6f7a8b9c0d" if generated else "")
    job = build_job(spec)
    _valid(job)
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["automountServiceAccountToken"] is False and pod["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] == 0
    assert job["metadata"]["namespace"] == settings.DEPLOY_IMAGE_BUILD_NAMESPACE
    assert container["resources"]["limits"] == {
        "cpu": "1500m", "memory": "1024Mi", "ephemeral-storage": "4096Mi"
    }  # fmt: skip
    assert container["terminationMessagePath"] == "/dev/termination-log"
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert ("/quayside/dockerfile" in mounts) is generated
    if generated:
        _valid(dockerfile_config_map(spec, "FROM python:3.11-slim\nUSER 10001\n"))


def test_kaniko_arguments(settings):
    settings.DEPLOY_IMAGE_KANIKO_IMAGE = "gcr.io/kaniko-project/executor:v1.23.2"
    (container,) = build_job(_spec(builder="kaniko"))["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "gcr.io/kaniko-project/executor:v1.23.2"
    args = container["args"]
    assert "--context=git://git.example.com/acme/shop.git#" + "a" * 40 in args
    assert "--dockerfile=Dockerfile" in args
    assert "--destination=registry.example.com/quayside/acme/shop:5e6f7a8b9c0d" in args
    assert "--digest-file=/dev/termination-log" in args
    generated = build_job(_spec(builder="kaniko", dockerfile_config_map="df"))
    assert (
        "--dockerfile=/quayside/dockerfile/Dockerfile"
        in (generated["spec"]["template"]["spec"]["containers"][0]["args"])
    )


def test_buildkit_rootless_needs(settings):
    job = build_job(_spec(builder="buildkit"))
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["image"].endswith("-rootless")
    assert container["command"] == ["buildctl-daemonless.sh"]
    assert container["securityContext"]["seccompProfile"] == {"type": "Unconfined"}
    assert container["securityContext"]["appArmorProfile"] == {"type": "Unconfined"}
    assert container["securityContext"]["runAsUser"] == 1000
    assert {"name": "BUILDKITD_FLAGS", "value": "--oci-worker-no-process-sandbox"} in container[
        "env"
    ]
    assert (
        "type=image,name=registry.example.com/quayside/acme/shop:5e6f7a8b9c0d,push=true"
        in (container["args"])
    )


def test_the_schemas_can_fail():
    job = build_job(_spec())
    job["spec"]["template"]["spec"]["containers"][0]["securityContext"]["apparmor"] = "x"
    with pytest.raises(kubernetes_validate.ValidationError):
        _valid(job)
    job = build_job(_spec())
    job["spec"]["backoffLimit"] = "none"
    with pytest.raises(kubernetes_validate.ValidationError):
        _valid(job)


def test_an_unknown_builder_is_refused():
    with pytest.raises(ValueError, match="kaniko or buildkit"):
        build_job(_spec(builder="docker"))


def test_the_push_secret(settings):
    secret = push_secret(
        name="quayside-push", namespace="quayside-builds",
        registry="registry.example.com", username="bot", password="t0ken",
    )  # fmt: skip
    _valid(secret)
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    document = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
    entry = document["auths"]["registry.example.com"]
    assert base64.b64decode(entry["auth"]).decode() == "bot:t0ken"
    assert registry_of("redis:7") == "https://index.docker.io/v1/"
    assert registry_of("ghcr.io/a/b:1") == "ghcr.io"


def test_the_destination(settings):
    settings.DEPLOY_IMAGE_REGISTRY = "registry.example.com/quayside/"
    assert destination(tenant_slug="acme", app_name="shop", build_key="5e6f7a8b9c0d") == (
        "registry.example.com/quayside/acme/shop:5e6f7a8b9c0d"
    )
    settings.DEPLOY_IMAGE_REGISTRY = ""
    with pytest.raises(ValueError, match="DEPLOY_IMAGE_REGISTRY"):
        destination(tenant_slug="acme", app_name="shop", build_key="x")
    with pytest.raises(InvalidReference):
        destination(tenant_slug="acme", app_name="shop", build_key="x", registry="Bad Host")


def _pod(message: str, exit_code: int = 0, name: str = "builder") -> dict:
    """A finished build pod as the API returns it (the fields a v1 Pod status has)."""
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "build-7d4c1f7e3b9e-5e6f7a8b9c0d-x7k2p",
                     "namespace": "quayside-builds"},
        "spec": {"containers": [{"name": name, "image": "builder"}]},
        "status": {"phase": "Succeeded" if exit_code == 0 else "Failed", "containerStatuses": [{
            "name": name, "image": "builder", "imageID": "", "ready": False, "restartCount": 0,
            "state": {"terminated": {"exitCode": exit_code, "reason": "Completed",
                                     "message": message}},
        }]},
    }  # fmt: skip


def test_the_digest_is_read_from_the_termination_message():
    kaniko = _pod(DIGEST)
    _valid(kaniko)  # the hand-written status is a valid Pod
    assert digest_from_pods([kaniko]) == DIGEST
    buildkit = _pod(json.dumps({"containerimage.digest": DIGEST, "image.name": "x"}))
    assert digest_from_pods([buildkit]) == DIGEST
    assert digest_from_pods([_pod(DIGEST, exit_code=1)]) is None
    assert digest_from_pods([_pod(DIGEST, name="sidecar")]) is None
    assert digest_from_pods([{"status": {}}]) is None
    assert digest_from_message("error: push failed") is None
    assert digest_from_message("sha256:short") is None
