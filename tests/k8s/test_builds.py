"""Git builds on the Kubernetes provider: the image is built in the cluster by a Job (Kaniko or
BuildKit) and the release runs the pushed digest. On the emulator, so no Kaniko or BuildKit
runs: the build pod's output and its termination message (the digest, as Kaniko's
`--digest-file=/dev/termination-log` leaves it) are the fake controller's (tests/k8s/emulator);
what is real is the provider's side: the objects it applies (schema-checked for 1.30 to 1.34),
the waiting, the log, the digest read back and pinned, and the pipeline running that digest."""

from __future__ import annotations

import base64
import functools
import http.server
import json
import threading

import kubernetes_validate
import pytest
from django.db import transaction
from django_tenants.utils import tenant_context

from apps.deploy import pipeline, services
from apps.deploy.models import Build, DeploymentLog
from apps.deploy.runtime.base import BuildRefused, BuildSource, ResourceLimits, RuntimeProblem
from apps.deploy.runtime.builders.python import CONTAINER_WEB
from apps.deploy.runtime.git import parse_git_url
from apps.deploy.runtime.kubernetes import builds
from tests.deploy.conftest import GitRepo

APP = "cd" * 16
SHA = "b" * 40
NS = "quayside-builds"
VERSIONS = ("1.30", "1.31", "1.32", "1.33", "1.34")
GIT = "https://git.example.com/acme/shop.git"
DIGEST = "sha256:" + "5" * 64


@pytest.fixture
def builds_on(provider, settings):
    settings.DEPLOY_IMAGE_REGISTRY = "registry.example.com/quayside"
    settings.DEPLOY_IMAGE_REGISTRY_USERNAME = "pusher"
    settings.DEPLOY_IMAGE_REGISTRY_PASSWORD = "push-s3cret"
    settings.DEPLOY_IMAGE_BUILDER = "kaniko"
    settings.DEPLOY_IMAGE_BUILD_NAMESPACE = NS
    return provider


def _source(url: str = GIT, **kwargs) -> BuildSource:
    git = parse_git_url(url, allow_local=False, schemes=["https", "http", "ssh"])
    return BuildSource.of(git, commit_sha=SHA, ref="main", tenant="acme", app_name="shop",
                          **kwargs)  # fmt: skip


def _checkout(tmp_path, files: dict[str, str]) -> str:
    root = tmp_path / "checkout"
    root.mkdir()
    for name, text in files.items():
        (root / name).write_text(text)
    return str(root)


class Seen:
    """The build's log and, at every tick, the build objects in the cluster (the ConfigMap is
    deleted once the build ends)."""

    def __init__(self, k8s) -> None:
        self.k8s, self.lines, self.config_maps = k8s, [], {}

    def log(self, line: str) -> None:
        self.lines.append(line)

    def tick(self) -> None:
        for cm in self.k8s.store.find("ConfigMap", NS):
            self.config_maps[cm["metadata"]["name"]] = cm["data"]["Dockerfile"]


def _prepare(provider, k8s, source_dir: str, source: BuildSource | None = None) -> tuple:
    seen = Seen(k8s)
    artefact = provider.prepare(
        app_key=APP, build_key="000000000001", source_dir=source_dir, log=seen.log,
        tick=seen.tick, limits=ResourceLimits(memory_mb=1024), source=source or _source(),
    )  # fmt: skip
    return artefact, seen


def _builder(k8s) -> dict:
    [job] = k8s.store.find("Job", NS)
    return job["spec"]["template"]["spec"]["containers"][0]


def test_a_node_app_without_a_dockerfile_gets_one_written_and_is_pinned_by_digest(
    builds_on, k8s, tmp_path
):
    source_dir = _checkout(tmp_path, {
        "package.json": json.dumps({"scripts": {"start": "node server.js"}}),
        "package-lock.json": "{}", "server.js": "require('http')",
        "Procfile": "release: node migrate.js\n",
    })  # fmt: skip
    artefact, seen = _prepare(builds_on, k8s, source_dir)

    builder = _builder(k8s)
    assert builder["image"].startswith("gcr.io/kaniko-project/executor")
    assert f"--context=git://git.example.com/acme/shop.git#{SHA}" in builder["args"]
    destination = "registry.example.com/quayside/acme/shop:000000000001"
    assert f"--destination={destination}" in builder["args"]
    assert "--dockerfile=/quayside/dockerfile/Dockerfile" in builder["args"]
    [dockerfile] = seen.config_maps.values()
    assert dockerfile.splitlines()[1] == "FROM node:24-slim"
    assert '"npm", "ci"' in dockerfile
    assert not k8s.store.find("ConfigMap", NS)  # gone with the build

    [secret] = k8s.store.find("Secret", NS)
    auths = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))["auths"]
    assert auths["registry.example.com"]["password"] == "push-s3cret"
    [namespace] = [n for n in k8s.store.find("Namespace") if n["metadata"]["name"] == NS]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    # The tenant's RUN steps get app pods' egress (no private ranges) and no ingress.
    policies = {p["metadata"]["name"]: p["spec"] for p in k8s.store.find("NetworkPolicy", NS)}
    assert sorted(policies) == ["allow-egress", "default-deny"]
    internet = policies["allow-egress"]["egress"][1]["to"][0]["ipBlock"]
    assert "10.0.0.0/8" in internet["except"]

    # The digest the builder left in its termination message is the one the release runs.
    [pod] = k8s.store.find("Pod", NS)
    digest = pod["status"]["containerStatuses"][0]["state"]["terminated"]["message"]
    assert artefact.kind == "image"
    assert artefact.image == f"registry.example.com/quayside/acme/shop@{digest}"
    assert artefact.process_types == {"web": "npm start"}
    assert artefact.release_command == "node migrate.js"
    assert any(line.startswith("ran: --context=git://") for line in seen.lines)  # its output
    assert not (tmp_path / "checkout").exists()  # the checkout is not kept: the image is
    assert not k8s.store.rejected


def test_an_app_with_its_own_dockerfile_is_built_from_it_by_buildkit(builds_on, k8s, settings,
                                                                    tmp_path):  # fmt: skip
    settings.DEPLOY_IMAGE_BUILDER = "buildkit"
    k8s.controller.job_outcome("buildctl", 0, ["#1 [internal] load build definition",
                                               "#9 pushing layers done"],
                               message=json.dumps({"containerimage.digest": DIGEST}))  # fmt: skip
    source_dir = _checkout(tmp_path, {
        "Dockerfile": "FROM alpine\nUSER 1000\nCMD [\"./serve\"]\n",
        "Procfile": "worker: ./work --queue default\n",
    })  # fmt: skip
    artefact, seen = _prepare(builds_on, k8s, source_dir)

    builder = _builder(k8s)
    assert builder["command"] == ["buildctl-daemonless.sh"]
    assert f"context={GIT}#{SHA}" in builder["args"]
    assert not seen.config_maps  # the repository's Dockerfile: nothing written
    assert artefact.image == f"registry.example.com/quayside/acme/shop@{DIGEST}"
    assert artefact.process_types == {"worker": "./work --queue default"}
    assert seen.lines[-3:] == ["#1 [internal] load build definition", "#9 pushing layers done",
                               f"Pushed registry.example.com/quayside/acme/shop:000000000001 "
                               f"as {DIGEST}."]  # fmt: skip
    [namespace] = [n for n in k8s.store.find("Namespace") if n["metadata"]["name"] == NS]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"


def test_a_failed_build_job_fails_the_build_with_its_output_and_is_deleted(builds_on, k8s,
                                                                           tmp_path):  # fmt: skip
    k8s.controller.job_outcome("--context=", 1, [
        "INFO Retrieving image manifest python:3.11-slim",
        "ERROR: No matching distribution found for gunicorn==99",
        "error building image: error building stage: exit status 1",
    ])  # fmt: skip
    source_dir = _checkout(tmp_path, {"requirements.txt": "gunicorn==99\n", "wsgi.py": "app=1"})
    seen = Seen(k8s)
    with pytest.raises(RuntimeProblem) as failed:
        builds_on.prepare(app_key=APP, build_key="000000000002", source_dir=source_dir,
                          log=seen.log, tick=seen.tick, source=_source())  # fmt: skip
    assert "The image build failed (BackoffLimitExceeded)" in failed.value.message
    assert "No matching distribution found for gunicorn==99" in failed.value.message
    assert "error building image: error building stage: exit status 1" in seen.lines
    assert [d.splitlines()[1] for d in seen.config_maps.values()] == ["FROM python:3.11-slim"]
    assert not k8s.store.find("Job", NS) and not k8s.store.find("Pod", NS)
    assert not k8s.store.find("ConfigMap", NS)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://deploy:glpat-s3cret@git.example.com/acme/shop.git", "carries credentials"),
        ("https://git.example.com/acme/shop.git?private_token=s3cret", "carries credentials"),
        ("git@git.example.com:acme/shop.git", "cannot fetch a ssh git URL"),
    ],
)
def test_a_credentialed_or_ssh_git_url_is_refused_and_nothing_is_applied(
    builds_on, k8s, tmp_path, url, says
):
    source_dir = _checkout(tmp_path, {"index.html": "<h1>hi</h1>"})
    with pytest.raises(BuildRefused, match=says) as refused:
        _prepare(builds_on, k8s, source_dir, _source(url))
    assert "s3cret" not in refused.value.message
    assert not k8s.store.find("Job") and not k8s.store.find("Secret")


def test_without_a_source_a_git_build_is_refused(builds_on, tmp_path):
    with pytest.raises(BuildRefused, match="git URL and commit"):
        builds_on.prepare(app_key=APP, build_key="b1", source_dir=str(tmp_path), log=print,
                          tick=print)  # fmt: skip


@pytest.mark.parametrize("builder", ["kaniko", "buildkit"])
def test_every_build_object_validates_for_1_30_to_1_34(settings, builder, tmp_path):
    settings.DEPLOY_IMAGE_REGISTRY = "registry.example.com/quayside"
    settings.DEPLOY_IMAGE_BUILDER = builder
    source_dir = _checkout(tmp_path, {"requirements.txt": "flask\n", "wsgi.py": "app = 1\n"})
    plan = builds.plan(source_dir)
    _, objects = builds.job_objects(_source("http://git.example.com/acme/shop.git"),
                                    app_key=APP, build_key="000000000003", limits=ResourceLimits(),
                                    generated=plan.dockerfile.text)  # fmt: skip
    kinds = ["Namespace", "NetworkPolicy", "NetworkPolicy", "Secret", "ConfigMap", "Job"]
    assert [o["kind"] for o in objects] == kinds
    for version in VERSIONS:
        for obj in objects:
            kubernetes_validate.validate(obj, version, strict=True)
    env = objects[-1]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert ({"name": "GIT_PULL_METHOD", "value": "http"} in env) == (builder == "kaniko")
    assert plan.process_types == {"web": CONTAINER_WEB}  # the builder's own, read back


# --- through the pipeline ------------------------------------------------------------------


class _DumbGit:
    """A git repository served over plain HTTP on 127.0.0.1 (git's dumb protocol)."""

    def __init__(self, directory) -> None:
        handler = functools.partial(_Quiet, directory=str(directory))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def served_repo(tmp_path, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.DEPLOY_GIT_ALLOWED_SCHEMES = ["https", "http"]
    repo = GitRepo(tmp_path / "repo")  # a Python app with a Procfile, no Dockerfile
    repo._git("update-server-info")
    server = _DumbGit(tmp_path)
    yield repo, f"http://127.0.0.1:{server.port}/repo/.git"
    server.close()


@pytest.mark.django_db
@pytest.mark.parametrize("k8s", ["1.30.0", "1.34.0"], indirect=True)
def test_a_git_deploy_builds_in_the_cluster_and_runs_the_pinned_digest(
    world, builds_on, k8s, served_repo, settings, monkeypatch, tmp_path
):
    settings.DEPLOY_PROVIDER = "kubernetes"
    settings.DEPLOY_RUNTIME_DIR = str(tmp_path / "runtime")
    settings.DEPLOY_DRAIN_S = 0  # nothing was live before
    monkeypatch.setattr(services, "enqueue_deployment", lambda pk: None)
    repo, url = served_repo
    tenant = world["tenant_a"]
    with tenant_context(tenant):
        app, _ = services.app_create(tenant=tenant, actor=services.SYSTEM, name="shop",
                                     git_url=url)  # fmt: skip
        sha = repo._git("rev-parse", "HEAD")  # a commit: the dumb protocol has no ref lookup
        with transaction.atomic():
            deployment = services.deployment_create(app=app, tenant=tenant, actor=services.SYSTEM,
                                                    ref=sha)  # fmt: skip
        outcome = pipeline.deployment_execute(deployment.pk)
        deployment.refresh_from_db()
        assert outcome == "live", deployment.failure_reason
        build = Build.objects.get(pk=deployment.build_id)
        lines = list(DeploymentLog.objects.filter(deployment=deployment, stream="build")
                     .values_list("line", flat=True))  # fmt: skip

    assert build.commit_sha == sha and build.kind == "image"
    assert build.image_repository == f"registry.example.com/quayside/{tenant.slug}/shop"
    [pod] = k8s.store.find("Pod", NS)
    digest = pod["status"]["containerStatuses"][0]["state"]["terminated"]["message"]
    assert build.image_digest == digest
    assert build.process_types == {"web": "gunicorn --bind 0.0.0.0:$PORT --workers 2 app:app"}
    builder = _builder(k8s)
    assert f"--context=git://{url.split('//')[1]}#{sha}" in builder["args"]
    assert any(line.startswith("ran: --context=git://127.0.0.1") for line in lines)
    assert any("a Dockerfile Quayside wrote for a python app" in line for line in lines)

    # The release runs that digest in the tenant's namespace.
    [web] = k8s.store.find("Deployment", f"qs-{tenant.slug}")
    assert web["spec"]["template"]["spec"]["containers"][0]["image"] == build.image
    assert build.image.endswith(f"@{digest}")
    assert not k8s.store.rejected
