"""The Kubernetes provider, driven through its real client (lightkube, over HTTP) against the
emulator: what a deployment makes in the cluster, and what the cluster's state means for the
app. The scenario steps are in scenarios.py, so that a provider contract suite can run them
against the local provider too."""

from __future__ import annotations

import base64

import pytest

from apps.deploy.runtime import get_provider
from apps.deploy.runtime.base import ResourceLimits, Route
from apps.deploy.runtime.kubernetes import KubernetesProvider

APP = "ab" * 16
NS = "qs-alpha"


def only(items: list[dict]) -> dict:
    assert len(items) == 1, items
    return items[0]


def test_the_provider_is_registered(provider):
    assert isinstance(get_provider("kubernetes"), KubernetesProvider)


def test_a_git_build_without_its_source_is_refused(provider, tmp_path):
    """In-cluster builds are tests/k8s/test_builds.py; without the git URL there is nothing to
    build from."""
    from apps.deploy.runtime.base import BuildRefused

    with pytest.raises(BuildRefused, match="git URL and commit"):
        provider.prepare(app_key=APP, build_key="b1", source_dir=str(tmp_path), log=print,
                         tick=print)  # fmt: skip


def test_the_tenant_gets_a_namespace_quota_limit_range_and_policies(driver, k8s):
    limits = ResourceLimits(memory_mb=128, cpu_millicores=250, pids=64, disk_mb=256, apps=2,
                            processes=3)  # fmt: skip
    spec = driver.spec(APP, "d00000000001", artefact=driver.artefact(), limits=limits)
    assert driver.deploy(spec).ok
    namespace = only([n for n in k8s.store.find("Namespace") if n["metadata"]["name"] == NS])
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert namespace["metadata"]["labels"]["quayside.dev/tenant"] == "alpha"
    quota = only(k8s.store.find("ResourceQuota", NS))["spec"]["hard"]
    assert quota == {
        "pods": "7",
        "limits.memory": "896Mi",
        "limits.cpu": "1750m",
        "limits.ephemeral-storage": "1792Mi",
        "count/services": "2",
        "count/ingresses.networking.k8s.io": "2",
    }
    limit = only(k8s.store.find("LimitRange", NS))["spec"]["limits"][0]
    assert limit["max"]["memory"] == "128Mi"
    policies = {p["metadata"]["name"] for p in k8s.store.find("NetworkPolicy", NS)}
    assert policies == {"default-deny", "allow-ingress-controller", "allow-egress"}
    managers = {m["manager"] for m in namespace["metadata"]["managedFields"]}
    assert "quayside" in managers


@pytest.mark.parametrize("k8s", ["1.30.0", "1.34.0"], indirect=True)
def test_a_deploy_makes_deployments_a_service_an_ingress_and_a_secret(driver, k8s):
    spec = driver.spec(APP, "d00000000001", artefact=driver.artefact(),
                       env={"GREETING": "hello", "DATABASE_URL": "postgres://s3cret@db/x"},
                       formation={"web": 2, "worker": 1})  # fmt: skip
    result = driver.deploy(spec)
    assert result.ok, result.detail
    deployments = {d["metadata"]["name"]: d for d in k8s.store.find("Deployment", NS)}
    assert sorted(deployments) == [f"a{APP[:16]}-d00000000001-web",
                                   f"a{APP[:16]}-d00000000001-worker"]  # fmt: skip
    secret = only(k8s.store.find("Secret", NS))
    values = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert values == {"GREETING": "hello", "DATABASE_URL": "postgres://s3cret@db/x"}
    assert "s3cret" not in str(deployments)
    service = only(k8s.store.find("Service", NS))
    assert service["spec"]["selector"]["quayside.dev/deployment"] == "d00000000001"
    ingress = only(k8s.store.find("Ingress", NS))
    assert [r["host"] for r in ingress["spec"]["rules"]] == [spec.hostname]
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt"
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert driver.states(APP) == {"d00000000001": ["RUNNING", "RUNNING", "RUNNING"]}
    assert driver.provider.routed_to(APP) == "d00000000001"
    assert driver.provider.program_keys() == {(APP, "d00000000001")}
    logs = driver.provider.logs(APP, lines=10)
    assert "d00000000001-web-0: Listening on 0.0.0.0:8000" in logs


def test_scale_and_env_change_start_a_new_release_and_switch_traffic(driver, k8s):
    artefact = driver.artefact()
    assert driver.deploy(driver.spec(APP, "d00000000001", artefact=artefact)).ok
    changed = driver.spec(APP, "d00000000002", artefact=artefact, env={"GREETING": "bonjour"},
                          formation={"web": 3, "worker": 0})  # fmt: skip
    assert driver.deploy(changed).ok
    assert driver.provider.routed_to(APP) == "d00000000002"
    secret = only(k8s.store.find("Secret", NS))  # the old release's Secret went with it
    assert secret["metadata"]["name"].endswith("d00000000002-env")
    assert base64.b64decode(secret["data"]["GREETING"]).decode() == "bonjour"
    assert driver.states(APP) == {"d00000000002": ["RUNNING"] * 3}
    worker = only(k8s.store.find("Deployment", NS, **{"quayside.dev/process-type": "worker"}))
    assert worker["spec"]["replicas"] == 0


def test_a_failed_release_command_aborts_and_the_live_release_keeps_serving(driver, k8s):
    artefact = driver.artefact()
    assert driver.deploy(driver.spec(APP, "d00000000001", artefact=artefact)).ok
    k8s.controller.job_outcome("migrate", 3, ["Applying 0002_broken...", "ProgrammingError"])
    result = driver.deploy(
        driver.spec(APP, "d00000000002", artefact=artefact), release_command="manage.py migrate"
    )
    assert not result.ok
    assert "ProgrammingError" in driver.lines
    assert driver.provider.routed_to(APP) == "d00000000001"
    assert driver.states(APP) == {"d00000000001": ["RUNNING"]}
    job = only(k8s.store.find("Job", NS))
    assert job["status"]["failed"] == 1


def test_a_release_command_that_succeeds_returns_zero_and_logs(driver, k8s):
    spec = driver.spec(APP, "d00000000001", artefact=driver.artefact())
    assert driver.release(spec, "manage.py migrate") == 0
    assert driver.lines == ["ran: /bin/sh -c manage.py migrate"]


@pytest.mark.parametrize(
    ("mode", "state", "reason"),
    [
        ("crash-loop", "BACKOFF", "CrashLoopBackOff"),
        ("oom-killed", "BACKOFF", "OOMKilled"),
        # ErrImagePull first, ImagePullBackOff once the kubelet backs off: either names it.
        ("image-pull", "FATAL", "ImagePull"),
    ],
)
def test_a_failing_process_fails_the_health_check_with_its_reason(driver, k8s, mode, state,
                                                                  reason):  # fmt: skip
    artefact = driver.artefact()
    assert driver.deploy(driver.spec(APP, "d00000000001", artefact=artefact)).ok
    k8s.controller.behave("broken", mode)
    bad = driver.artefact(image="registry.test/broken@sha256:" + "b" * 64)
    result = driver.deploy(driver.spec(APP, "d00000000002", artefact=bad))
    assert not result.ok
    assert reason in result.detail
    statuses = [p for p in driver.status(APP) if p.deployment_key == "d00000000002"]
    assert statuses and all(p.state == state for p in statuses)
    assert driver.provider.routed_to(APP) == "d00000000001"  # the live release keeps serving


def test_oom_kills_are_reported_as_process_exits_once(driver, k8s):
    k8s.controller.behave("hungry", "oom-killed")
    spec = driver.spec(APP, "d00000000001", artefact=driver.artefact(image="reg/hungry:1"))
    driver.provider.start(spec)
    driver.wait(lambda: driver.provider.process_exits("")[0])
    k8s.controller.stop()
    exits, cursor = driver.provider.process_exits("")
    assert {(e.app_key, e.process_type, e.reason, e.exit_code) for e in exits} == {
        (APP, "web", "oom_killed", 137)
    }
    assert driver.provider.process_exits(cursor) == ([], cursor)


def test_pods_the_quota_refuses_show_as_pending_for_quota(driver, k8s):
    limits = ResourceLimits(processes=1)  # a quota of 3 pods
    spec = driver.spec(APP, "d00000000001", artefact=driver.artefact(), limits=limits,
                       formation={"web": 5})  # fmt: skip
    result = driver.deploy(spec)
    assert not result.ok
    assert "exceeded quota" in result.detail
    states = [p.state for p in driver.status(APP)]
    assert states.count("RUNNING") == 3 and states.count("FATAL") == 2


def test_usage_comes_from_the_metrics_api_when_there_is_one(driver, k8s):
    spec = driver.spec(APP, "d00000000001", artefact=driver.artefact())
    assert driver.deploy(spec).ok
    assert driver.provider.usage(APP) == []  # no metrics-server
    k8s.controller.metrics(True)
    [sample] = driver.provider.usage(APP)
    assert (sample.app_key, sample.process_type) == (APP, "web")
    assert sample.memory_bytes == 48 * 2**20
    assert sample.memory_limit_bytes == 512 * 2**20


def test_custom_domains_get_routed_and_certificates(driver, k8s):
    spec = driver.spec(APP, "d00000000001", artefact=driver.artefact())
    assert driver.deploy(spec).ok
    route = Route(app_key=APP, hosts=(spec.hostname, "www.example.com"), kind="python")
    assert driver.provider.sync_routes([route]) is True
    ingress = only(k8s.store.find("Ingress", NS))
    assert {r["host"] for r in ingress["spec"]["rules"]} == {spec.hostname, "www.example.com"}
    assert set(ingress["spec"]["tls"][0]["hosts"]) == {spec.hostname, "www.example.com"}
    assert driver.provider.sync_routes([route]) is False  # nothing left to change
    assert driver.provider.sync_routes([]) is True  # the app is gone: its Ingress too
    assert k8s.store.find("Ingress", NS) == []


def test_stop_and_remove_app_delete_what_the_app_had(driver, k8s):
    spec = driver.spec(APP, "d00000000001", artefact=driver.artefact())
    assert driver.deploy(spec).ok
    driver.provider.stop(APP, "d00000000001")
    assert k8s.store.find("Deployment", NS) == [] and k8s.store.find("Secret", NS) == []
    driver.wait(lambda: not k8s.store.find("Pod", NS))
    assert driver.provider.program_keys() == set()
    driver.provider.remove_app(APP)
    assert k8s.store.find("Service", NS) == [] and k8s.store.find("Ingress", NS) == []


def test_gateway_api_routing_uses_http_routes(driver, k8s, settings):
    settings.DEPLOY_K8S_ROUTING = "gateway"
    settings.DEPLOY_K8S_GATEWAY = "infra/public"
    spec = driver.spec(APP, "d00000000001", artefact=driver.artefact())
    assert driver.deploy(spec).ok
    route = only(k8s.store.find("HTTPRoute", NS))
    assert route["spec"]["hostnames"] == [spec.hostname]
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": f"a{APP[:16]}-web", "port": 80}]
    assert k8s.store.find("Ingress", NS) == []
    domains = Route(app_key=APP, hosts=(spec.hostname, "shop.example.com"), kind="python")
    assert driver.provider.sync_routes([domains]) is True
    assert only(k8s.store.find("HTTPRoute", NS))["spec"]["hostnames"] == [
        spec.hostname,
        "shop.example.com",
    ]
    # Past 16 hostnames (the CRD's limit) the hosts spread over routes the server accepts…
    many = (spec.hostname, *(f"d{i:02}.example.com" for i in range(20)))
    assert driver.provider.sync_routes([Route(app_key=APP, hosts=many, kind="python")])
    routes = k8s.store.find("HTTPRoute", NS)
    assert sorted(len(r["spec"]["hostnames"]) for r in routes) == [5, 16]
    # …and back to one when the domains go.
    assert driver.provider.sync_routes([domains]) is True
    assert len(only(k8s.store.find("HTTPRoute", NS))["spec"]["hostnames"]) == 2
    driver.provider.remove_app(APP)
    assert k8s.store.find("HTTPRoute", NS) == []


def test_an_unusable_kubeconfig_or_an_unreachable_cluster_is_a_runtime_problem(settings, tmp_path):
    from apps.deploy.runtime.base import RuntimeProblem

    settings.DEPLOY_K8S_IN_CLUSTER = False
    settings.DEPLOY_K8S_KUBECONFIG = str(tmp_path / "missing")
    with pytest.raises(RuntimeProblem, match="DEPLOY_K8S_KUBECONFIG"):
        KubernetesProvider().ensure_ready()
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )
    settings.DEPLOY_K8S_KUBECONFIG = str(config)
    with pytest.raises(RuntimeProblem, match="could not be reached") as caught:
        KubernetesProvider().ensure_ready(wait_s=0)
    assert caught.value.permanent is False
