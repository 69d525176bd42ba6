"""Git builds on Kubernetes: the image is built in the cluster by a Job, not on this machine.

    check_source(source)     what the cluster can fetch by itself: a public http(s) repository
                             (credentials are never put in a Job: a private URL is refused)
    plan(...)                the checkout Quayside fetched is read, never built: its process
                             types (Procfile, package.json: the builders' own rules) and the
                             Dockerfile (the repository's own, or dockerfile_for's)
    build_in_cluster(...)    the build namespace (and its NetworkPolicies), the push Secret,
                             the Dockerfile ConfigMap and the Job (images/build_job.py)
                             applied; the Job waited on, its pod's output in the build log;
                             the pushed digest read from the pod's termination message
                             (digest_from_pods)

A failed or timed-out Job fails the build with its log's last lines and is deleted. The
release runs `<registry>/<tenant>/<app>@sha256:…`: the digest is pinned, whatever the tag
(the build key) says later."""

from __future__ import annotations

import base64
import json
import re
import time
from dataclasses import dataclass

from django.conf import settings

from ..base import BuildRefused, BuildSource, LogSink, ResourceLimits, RuntimeProblem, Tick
from ..builders.base import procfile
from ..builders.container import container_command
from ..images import build_job as jobs
from ..images.dockerfile import BuildDockerfile, dockerfile_for, instructions
from ..images.reference import InvalidReference, parse
from . import manifests, names
from .client import Cluster

PUSH_SECRET = "quayside-push"  # noqa: S105 - the Secret's name
LOG_TAIL = 15  # lines of a failed build's output repeated in its failure reason
_LABEL = re.compile(r'io\.quayside\.(process-types|release-command)=("(?:[^"\\]|\\.)*")')


@dataclass(frozen=True)
class BuildPlan:
    dockerfile: BuildDockerfile
    process_types: dict[str, str]
    release_command: str


def check_source(source: BuildSource | None) -> None:
    """BuildRefused unless the cluster can fetch `source` by itself, without credentials."""
    if source is None or not source.git_url or not source.commit_sha:
        raise BuildRefused(
            "The Kubernetes provider builds images in the cluster from the app's git URL and "
            "commit, and none was given: deploy from git or a prebuilt image."
        )
    if source.credentialed:
        raise BuildRefused(
            "The app's git URL carries credentials. On Kubernetes the image is built in the "
            "cluster, and Quayside never hands credentials to a build Job: use a public "
            "repository, or build the image elsewhere and deploy it as an image source."
        )
    if source.scheme not in ("https", "http"):
        raise BuildRefused(
            f"The cluster cannot fetch a {source.scheme} git URL for an in-cluster build: use "
            "the repository's public https:// URL (or deploy a prebuilt image)."
        )


def _labels(text: str) -> tuple[dict[str, str], str]:
    """The process types and release command a generated Dockerfile records in its LABEL."""
    found: dict[str, str] = {}
    for keyword, args in instructions(text):
        if keyword == "LABEL":
            found.update({key: json.loads(value) for key, value in _LABEL.findall(args)})
    return json.loads(found.get("process-types", "{}")), found.get("release-command", "")


def plan(source_dir: str) -> BuildPlan:
    """How a checkout is built into an image and what its processes are: read only, nothing
    of the app runs here. Without a Procfile, an app with its own Dockerfile runs `web` as the
    image's own command."""
    dockerfile = dockerfile_for(source_dir)
    if dockerfile.generated:
        types, release = _labels(dockerfile.text)
    else:
        entries, release = procfile(source_dir)
        types = {name: container_command(cmd) for name, cmd in entries.items()} or {"web": ""}
        release = container_command(release) if release else ""
    return BuildPlan(dockerfile=dockerfile, process_types=types, release_command=release)


def context_url(source: BuildSource, builder: str) -> str:
    """The builder's git context at the commit: Kaniko's `git://host/path#sha` (it clones over
    GIT_PULL_METHOD, https unless the URL is http), BuildKit's `https://host/path#sha`."""
    if builder == "kaniko":
        return "git://" + source.git_url.split("://", 1)[1] + "#" + source.commit_sha
    return f"{source.git_url}#{source.commit_sha}"


def registry() -> str:
    return (settings.DEPLOY_IMAGE_REGISTRY or settings.DEPLOY_K8S_REGISTRY).rstrip("/")


def _namespace(builder: str) -> dict:
    """The build namespace: builders need more than Pod Security `restricted` allows (Kaniko
    runs as root: `baseline`; rootless BuildKit is seccomp/AppArmor unconfined: `privileged`)."""
    level = "baseline" if builder == "kaniko" else "privileged"
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": settings.DEPLOY_IMAGE_BUILD_NAMESPACE,
            "labels": {
                names.MANAGED_BY: names.MANAGER,
                "app.kubernetes.io/component": "image-build",
                "pod-security.kubernetes.io/enforce": level,
            },
        },
    }


def _network_policies() -> list[dict]:
    """A tenant's Dockerfile runs its own RUN steps: builds get the egress of app pods (DNS, the
    internet, DEPLOY_K8S_ALLOWED_NETWORKS; never cluster-internal or private ranges, so an
    in-cluster git server or registry must be listed there) and no ingress at all."""
    labels = {names.MANAGED_BY: names.MANAGER, "app.kubernetes.io/component": "image-build"}
    policies = manifests.network_policies(settings.DEPLOY_IMAGE_BUILD_NAMESPACE, labels)
    return [p for p in policies if p["metadata"]["name"] != "allow-ingress-controller"]


def _push_secret(destination: str) -> dict:
    username = settings.DEPLOY_IMAGE_REGISTRY_USERNAME
    secret = jobs.push_secret(
        name=PUSH_SECRET,
        namespace=settings.DEPLOY_IMAGE_BUILD_NAMESPACE,
        registry=jobs.registry_of(destination),
        username=username or "-",
        password=settings.DEPLOY_IMAGE_REGISTRY_PASSWORD,
    )
    if not username:  # a registry that takes anonymous pushes: no auths at all
        secret["data"][".dockerconfigjson"] = base64.b64encode(b'{"auths": {}}').decode()
    return secret


def job_objects(
    source: BuildSource, *, app_key: str, build_key: str, limits: ResourceLimits, generated: str
) -> tuple[jobs.BuildJobSpec, list[dict]]:
    """The build's spec and what is applied for it, in order."""
    builder = settings.DEPLOY_IMAGE_BUILDER
    if builder not in jobs.BUILDERS:
        raise RuntimeProblem(f"DEPLOY_IMAGE_BUILDER is {builder!r}: use kaniko or buildkit.")
    try:
        destination = jobs.destination(
            tenant_slug=names._dns_label(source.tenant or "default"),
            app_name=names._dns_label(source.app_name or app_key[:12]),
            build_key=build_key,
            registry=registry(),
        )
    except (ValueError, InvalidReference) as exc:
        raise RuntimeProblem(f"Images cannot be built: {exc}") from exc
    spec = jobs.BuildJobSpec(
        app_key=app_key,
        app_name=source.app_name,
        tenant_slug=source.tenant,
        build_key=build_key,
        context=context_url(source, builder),
        destination=destination,
        push_secret=PUSH_SECRET,
        dockerfile_config_map=f"dockerfile-{app_key[:12]}-{build_key}" if generated else "",
        limits=limits,
        builder=builder,
        timeout_s=settings.DEPLOY_BUILD_TIMEOUT_S,
    )
    job = jobs.build_job(spec)
    if builder == "kaniko" and source.scheme == "http":
        job["spec"]["template"]["spec"]["containers"][0]["env"].append(
            {"name": "GIT_PULL_METHOD", "value": "http"}
        )
    objects = [_namespace(builder), *_network_policies(), _push_secret(destination)]
    if generated:
        objects.append(jobs.dockerfile_config_map(spec, generated))
    return spec, [*objects, job]


def _conditions(job: dict | None) -> dict[str, dict]:
    return {
        c["type"]: c
        for c in ((job or {}).get("status") or {}).get("conditions") or []
        if c.get("status") == "True"
    }


def build_in_cluster(
    cluster: Cluster,
    source: BuildSource,
    build: BuildPlan,
    *,
    app_key: str,
    build_key: str,
    limits: ResourceLimits,
    log: LogSink,
    tick: Tick,
) -> str:
    """Run the build Job to its end; the pushed image, pinned (`repository@sha256:…`)."""
    spec, objects = job_objects(
        source, app_key=app_key, build_key=build_key, limits=limits,
        generated=build.dockerfile.text,
    )  # fmt: skip
    for obj in objects:
        cluster.apply(obj)
    job, ns = objects[-1]["metadata"]["name"], settings.DEPLOY_IMAGE_BUILD_NAMESPACE
    log(
        f"Building {spec.destination} in the cluster ({spec.builder}, Job {ns}/{job}) from "
        + ("the repository's Dockerfile." if not build.dockerfile.generated
           else f"a Dockerfile Quayside wrote for a {build.dockerfile.origin} app.")
    )  # fmt: skip
    timeout_s = settings.DEPLOY_BUILD_TIMEOUT_S
    deadline = time.monotonic() + timeout_s + 30  # the Job's own activeDeadlineSeconds first
    lines: list[str] = []
    try:
        while True:
            tick()
            state = _conditions(cluster.get("Job", job, ns))
            pods = cluster.list("Pod", ns, **{"job-name": job})
            for pod in pods[:1]:
                output = list(cluster.log(pod["metadata"]["name"], ns))
                for line in output[len(lines) :]:
                    log(line)
                lines = output if len(output) > len(lines) else lines
            if "Complete" in state:
                digest = jobs.digest_from_pods(pods)
                if not digest:
                    raise RuntimeProblem(
                        "The image build finished but its pod reported no digest (the "
                        "builder's termination message is empty)."
                    )
                log(f"Pushed {spec.destination} as {digest}.")
                return parse(spec.destination).pinned(digest)
            if "Failed" in state or time.monotonic() > deadline:
                cluster.delete("Job", job, ns)
                tail = "\n".join(lines[-LOG_TAIL:])
                why = (
                    f"did not finish within {timeout_s} s"
                    if "Failed" not in state
                    else f"failed ({state['Failed'].get('reason') or 'Failed'})"
                )
                raise RuntimeProblem(
                    f"The image build {why}. Its last output:\n{tail}"
                    if tail
                    else f"The image build {why}, without output."
                )
            time.sleep(settings.DEPLOY_K8S_POLL_S)
    finally:
        if spec.dockerfile_config_map:
            cluster.delete("ConfigMap", spec.dockerfile_config_map, ns)
