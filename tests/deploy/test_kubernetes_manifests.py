"""deploy/kubernetes/: Quayside's own manifests render with kustomize, validate against the
official schemas of Kubernetes 1.30 to 1.34, and keep the properties an operator relies on.

Nothing is applied to a cluster (there is none here): `kubectl kustomize` renders, and
kubernetes-validate checks every object against the OpenAPI schemas of each version, strictly
(an unknown field fails). About 2 s in all."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from django.conf import settings
from django.test import Client, override_settings

REPO = Path(__file__).resolve().parent.parent.parent
KUBE = REPO / "deploy" / "kubernetes"
OVERLAY = KUBE / "overlays" / "example"
BASE = KUBE / "base"
VERSIONS = ["1.30.0", "1.31.0", "1.32.0", "1.33.0", "1.34.0"]
UID = 10001  # the Dockerfile's USER

PROVIDER_SA = "quayside"
# What the Kubernetes runtime provider may do (issue 14): (apiGroup, resource) -> verbs at most.
MANAGE = {"get", "list", "watch", "create", "patch", "delete"}
READ = {"get", "list", "watch"}
ALLOWED_RULES: dict[tuple[str, str], set[str]] = {
    ("", "namespaces"): MANAGE,
    ("apps", "deployments"): MANAGE,
    ("apps", "replicasets"): READ,
    ("", "pods"): READ,
    ("", "pods/log"): READ,
    ("", "services"): MANAGE,
    ("", "secrets"): MANAGE,
    ("", "configmaps"): MANAGE,
    ("", "resourcequotas"): MANAGE,
    ("", "limitranges"): MANAGE,
    ("batch", "jobs"): MANAGE,
    ("networking.k8s.io", "ingresses"): MANAGE,
    ("networking.k8s.io", "networkpolicies"): MANAGE,
    ("gateway.networking.k8s.io", "httproutes"): MANAGE,
    ("metrics.k8s.io", "pods"): {"get", "list"},
}


def kustomize(path: Path) -> list[dict]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: it renders deploy/kubernetes (kubectl kustomize)")
    done = subprocess.run(
        [kubectl, "kustomize", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture(scope="module")
def overlay() -> list[dict]:
    return kustomize(OVERLAY)


@pytest.fixture(scope="module")
def base() -> list[dict]:
    return kustomize(BASE)


def one(objects: list[dict], kind: str, name: str) -> dict:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def pod_specs(objects: list[dict]) -> dict[str, dict]:
    """kind/name -> pod spec, for every object that runs pods."""
    specs = {}
    for o in objects:
        if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"):
            specs[f"{o['kind']}/{o['metadata']['name']}"] = o["spec"]["template"]["spec"]
        elif o["kind"] == "CronJob":
            specs[f"CronJob/{o['metadata']['name']}"] = o["spec"]["jobTemplate"]["spec"][
                "template"
            ]["spec"]
        elif o["kind"] == "Pod":
            specs[f"Pod/{o['metadata']['name']}"] = o["spec"]
    return specs


def container(objects: list[dict], deployment: str) -> dict:
    (only,) = one(objects, "Deployment", deployment)["spec"]["template"]["spec"]["containers"]
    return only


def config_value(objects: list[dict], key: str) -> str:
    (config,) = [
        o
        for o in objects
        if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("quayside-config")
    ]
    return config["data"][key]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("render", ["overlay", "base"])
def test_every_object_validates_against_the_official_schema(render, version, request):
    objects = request.getfixturevalue(render)
    assert len(objects) >= 15
    for obj in objects:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{name} is invalid for Kubernetes {version}: {exc.caught.message}")
        except kubernetes_validate.SchemaNotFoundError:
            pytest.fail(f"{name}: no such kind in Kubernetes {version}")


def test_the_overlay_has_every_process_the_migration_job_and_the_secret(overlay):
    deployments = {o["metadata"]["name"] for o in overlay if o["kind"] == "Deployment"}
    assert deployments == {"quayside-web", "quayside-worker", "quayside-checks", "quayside-beat"}
    job = one(overlay, "Job", "quayside-migrate")
    (migrate,) = job["spec"]["template"]["spec"]["containers"]
    assert migrate["command"] == ["python", "manage.py", "release"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    # Every workload reads the generated (hash-suffixed) ConfigMap and Secret of this render.
    names = {o["metadata"]["name"] for o in overlay if o["kind"] in ("ConfigMap", "Secret")}
    for key, spec in pod_specs(overlay).items():
        for c in spec["containers"]:
            refs = {
                (source.get("configMapRef") or source.get("secretRef"))["name"]
                for source in c["envFrom"]
            }
            assert refs <= names and len(refs) == 2, f"{key}: {refs} not among {names}"
    namespaces = {o["metadata"].get("namespace") for o in overlay if o["kind"] != "Namespace"}
    assert namespaces - {None} == {"quayside"}
    cluster_scoped = {"Namespace", "ClusterRole", "ClusterRoleBinding"}
    assert all(o["metadata"].get("namespace") for o in overlay if o["kind"] not in cluster_scoped)


def test_the_commands_are_the_procfiles(overlay):
    """The manifests run what the Procfile runs (plus Kubernetes-only flags): a queue or a
    scheduler renamed on one side only would leave work nobody picks up."""
    procfile = dict(
        line.split(": ", 1) for line in (REPO / "Procfile").read_text().splitlines() if line
    )

    def argv(deployment: str) -> list[str]:
        c = container(overlay, deployment)
        words = []
        for word in c["command"] + c["args"]:
            words += word.split("=", 1) if word.startswith("--") else [word]
        return words

    assert (
        procfile["release"].split()
        == one(overlay, "Job", "quayside-migrate")["spec"]["template"]["spec"]["containers"][0][
            "command"
        ]
    )
    for deployment, process in [
        ("quayside-web", "web"),
        ("quayside-worker", "worker"),
        ("quayside-checks", "checks"),
        ("quayside-beat", "beat"),
    ]:
        expected = procfile[process].replace("$PORT", "8000").split()
        got = argv(deployment)
        assert got[: len(expected)] == expected, (
            f"{deployment} does not run the Procfile's {process}"
        )
    checks = argv("quayside-checks")
    assert checks[checks.index("-Q") + 1] == settings.MONITORING_QUEUE
    beat = argv("quayside-beat")
    assert beat[beat.index("--scheduler") + 1] == settings.CELERY_BEAT_SCHEDULER
    worker = argv("quayside-worker")
    assert "-Q" not in worker  # the default queue, as the Procfile's worker


def test_beat_runs_exactly_once(overlay):
    beat = one(overlay, "Deployment", "quayside-beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    autoscaled = {
        o["spec"]["scaleTargetRef"]["name"]
        for o in overlay
        if o["kind"] == "HorizontalPodAutoscaler"
    }
    assert "quayside-beat" not in autoscaled


def test_web_probes_and_the_host_they_send(overlay):
    web = container(overlay, "quayside-web")
    domain = config_value(overlay, "BASE_DOMAIN")
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert web["startupProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        get = web[probe]["httpGet"]
        assert get["port"] == "http"
        assert get["httpHeaders"] == [{"name": "Host", "value": domain}], probe
    assert {"name": "http", "containerPort": 8000, "protocol": "TCP"} in web["ports"]
    strategy = one(overlay, "Deployment", "quayside-web")["spec"]["strategy"]
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0


def test_the_probe_host_passes_django_host_check(overlay):
    """The kubelet probes the pod's IP: without the Host header Django's ALLOWED_HOSTS check
    answers 400 before /healthz is reached. With the root host it answers (production's
    ALLOWED_HOSTS default: BASE_DOMAIN and its subdomains)."""
    web = container(overlay, "quayside-web")
    domain = config_value(overlay, "BASE_DOMAIN")
    host = web["livenessProbe"]["httpGet"]["httpHeaders"][0]["value"]
    with override_settings(ALLOWED_HOSTS=[domain, f".{domain}"], ROOT_HOSTS=[domain]):
        client = Client()
        assert client.get("/healthz", HTTP_HOST="10.244.1.7:8000").status_code == 400
        response = client.get("/healthz", HTTP_HOST=f"{host}:8000")
        assert response.status_code == 200, response.content
        assert response.json() == {"status": "ok"}


def test_base_domain_is_written_once(tmp_path):
    """The overlay's BASE_DOMAIN reaches the probes' Host header and the Ingress hosts."""
    copy = tmp_path / "kubernetes"
    shutil.copytree(KUBE, copy)
    kustomization = copy / "overlays" / "example" / "kustomization.yaml"
    text = kustomization.read_text()
    assert "BASE_DOMAIN=quayside.example.com" in text
    kustomization.write_text(
        text.replace("BASE_DOMAIN=quayside.example.com", "BASE_DOMAIN=q.acme.test")
    )
    objects = kustomize(copy / "overlays" / "example")
    web = container(objects, "quayside-web")
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert web[probe]["httpGet"]["httpHeaders"] == [{"name": "Host", "value": "q.acme.test"}]
    ingress = one(objects, "Ingress", "quayside")
    assert [rule["host"] for rule in ingress["spec"]["rules"]] == ["q.acme.test", "*.q.acme.test"]
    assert ingress["spec"]["tls"][0]["hosts"] == ["q.acme.test", "*.q.acme.test"]


@pytest.mark.parametrize("render", ["overlay", "base"])
def test_every_pod_is_restricted(render, request):
    objects = request.getfixturevalue(render)
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(rf"^USER {UID}:{UID}$", dockerfile, re.MULTILINE)
    specs = pod_specs(objects)
    assert len(specs) == 5
    for key, spec in specs.items():
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, key
        assert pod["runAsUser"] == UID, key
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, key
        assert not spec.get("hostNetwork") and not spec.get("hostPID"), key
        mounts_needed = set()
        for c in spec.get("initContainers", []) + spec["containers"]:
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, key
            assert sc["capabilities"] == {"drop": ["ALL"]}, key
            assert sc["readOnlyRootFilesystem"] is True, key
            assert sc.get("privileged", False) is False, key
            assert sc.get("runAsUser", UID) != 0, key
            resources = c["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), key
            assert "memory" in resources["limits"], key
            mounts_needed |= {m["name"] for m in c.get("volumeMounts", [])}
            assert "/tmp" in {m["mountPath"] for m in c["volumeMounts"]}, key  # noqa: S108
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        assert mounts_needed <= set(volumes), key
        assert all("emptyDir" in v for v in volumes.values()), key
    namespace = one(objects, "Namespace", "quayside")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_only_web_and_worker_get_a_token(overlay):
    tokens = {}
    for key, spec in pod_specs(overlay).items():
        account = spec.get("serviceAccountName", "default")
        sa = one(overlay, "ServiceAccount", account) if account != "default" else {}
        mounted = spec.get("automountServiceAccountToken", sa.get("automountServiceAccountToken"))
        tokens[key] = (account, mounted is not False)
    assert tokens == {
        "Deployment/quayside-web": (PROVIDER_SA, True),
        "Deployment/quayside-worker": (PROVIDER_SA, True),
        "Deployment/quayside-checks": ("quayside-unprivileged", False),
        "Deployment/quayside-beat": ("quayside-unprivileged", False),
        "Job/quayside-migrate": ("quayside-unprivileged", False),
    }
    assert (
        one(overlay, "ServiceAccount", "quayside-unprivileged")["automountServiceAccountToken"]
        is False
    )


def test_the_cluster_role_grants_what_the_provider_needs_and_no_more(overlay):
    roles = [o for o in overlay if o["kind"] in ("ClusterRole", "Role")]
    assert [r["metadata"]["name"] for r in roles] == ["quayside-runtime-provider"]
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in roles[0]["rules"]:
        assert set(rule) == {"apiGroups", "resources", "verbs"}, rule  # no nonResourceURLs
        assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted.setdefault((group, resource), set()).update(rule["verbs"])
    for key, verbs in granted.items():
        assert key in ALLOWED_RULES, f"{key} is not something the provider needs"
        assert verbs <= ALLOWED_RULES[key], f"{key}: {verbs - ALLOWED_RULES[key]} too many"
    # What it cannot work without (Gateway API routes stay optional, commented out).
    required = set(ALLOWED_RULES) - {("gateway.networking.k8s.io", "httproutes")}
    assert required <= set(granted), required - set(granted)
    for key in required:
        assert granted[key] == ALLOWED_RULES[key], key
    # Server-side apply is a PATCH; never update, escalate, bind or impersonate.
    assert not set().union(*granted.values()) & {"update", "escalate", "bind", "impersonate"}

    bindings = [o for o in overlay if o["kind"] in ("ClusterRoleBinding", "RoleBinding")]
    assert len(bindings) == 1
    assert bindings[0]["roleRef"]["name"] == "quayside-runtime-provider"
    assert bindings[0]["subjects"] == [
        {"kind": "ServiceAccount", "name": PROVIDER_SA, "namespace": "quayside"}
    ]


def test_pdb_and_hpa_target_web(overlay):
    web = one(overlay, "Deployment", "quayside-web")
    pod_labels = web["spec"]["template"]["metadata"]["labels"]
    hpa = one(overlay, "HorizontalPodAutoscaler", "quayside-web")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "quayside-web",
    }
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    # The autoscaler owns the count: a `replicas` here would reset it at every apply.
    assert "replicas" not in web["spec"]
    pdb = one(overlay, "PodDisruptionBudget", "quayside-web")
    selector = pdb["spec"]["selector"]["matchLabels"]
    assert selector == web["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod_labels.items()
    # Only web pods match: the PDB must not hold workers or beat hostage.
    others = [
        o["spec"]["template"]["metadata"]["labels"]
        for o in overlay
        if o["kind"] == "Deployment" and o["metadata"]["name"] != "quayside-web"
    ]
    assert not any(selector.items() <= labels.items() for labels in others)
    service = one(overlay, "Service", "quayside-web")
    assert service["spec"]["selector"] == selector
    ingress = one(overlay, "Ingress", "quayside")
    backends = {
        path["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert backends == {"quayside-web"}


def test_the_example_secret_holds_placeholders_only():
    """The committed overlay must never carry a usable secret: every value is marked."""
    kustomization = yaml.safe_load((OVERLAY / "kustomization.yaml").read_text())
    (generator,) = kustomization["secretGenerator"]
    assert generator["name"] == "quayside-secrets"
    for literal in generator["literals"]:
        key, _, value = literal.partition("=")
        assert "REPLACE-ME" in value, f"{key} is not a marked placeholder"
