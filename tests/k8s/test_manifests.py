"""Every manifest the Kubernetes provider generates passes the official schemas of Kubernetes
1.30 to 1.34 (kubernetes-validate, strict: an unknown or misplaced field fails), and says what
the entitlements and the restricted Pod Security profile require."""

from __future__ import annotations

import kubernetes_validate
import pytest

from apps.deploy.runtime.base import ResourceLimits, Route
from apps.deploy.runtime.kubernetes import manifests

from .scenarios import KubernetesDriver

VERSIONS = ["1.30.0", "1.31.0", "1.32.0", "1.33.0", "1.34.0"]
LIMITS = ResourceLimits(memory_mb=256, cpu_millicores=500, pids=128, disk_mb=1024, apps=3,
                        processes=5)  # fmt: skip


def every_manifest(settings) -> list[dict]:
    driver = KubernetesDriver(provider=None, emulator=None)
    spec = driver.spec("ab" * 16, "d00000000001", artefact=driver.artefact(),
                       formation={"web": 2, "worker": 1}, limits=LIMITS)  # fmt: skip
    route = Route(app_key=spec.app_key, hosts=(spec.hostname, "www.example.com"), kind="python")
    objects = [
        *manifests.tenant_objects("alpha", LIMITS),
        manifests.secret(spec),
        *manifests.deployments(spec),
        manifests.release_job(spec, "python manage.py migrate", "release-1", 300),
        manifests.service(spec),
        manifests.http_route_objects("alpha", route),
    ]
    return objects


@pytest.mark.parametrize("version", VERSIONS)
def test_every_generated_manifest_validates(settings, version):
    settings.DEPLOY_K8S_CLUSTER_ISSUER = "letsencrypt"
    settings.DEPLOY_K8S_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    settings.DEPLOY_K8S_IMAGE_PULL_SECRET = "registry"
    objects = every_manifest(settings)
    kinds = sorted({obj["kind"] for obj in objects})
    assert kinds == ["Deployment", "Ingress", "Job", "LimitRange", "Namespace",
                     "NetworkPolicy", "ResourceQuota", "Secret", "Service"]  # fmt: skip
    for obj in objects:
        kubernetes_validate.validate(obj, version, strict=True)


def test_a_broken_manifest_fails_validation():
    """The check itself can fail: a misplaced field is refused."""
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
                  "spec": {"replica": 2}}  # fmt: skip
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, "1.34.0", strict=True)


def test_entitlements_map_to_quota_limit_range_and_containers(settings):
    settings.DEPLOY_K8S_CLUSTER_ISSUER = ""
    objects = {obj["kind"]: obj for obj in every_manifest(settings)}
    namespace = objects["Namespace"]["metadata"]
    assert namespace["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert namespace["labels"]["quayside.dev/tenant"] == "alpha"
    assert namespace["annotations"]["quayside.dev/pids-limit"] == "128"
    hard = objects["ResourceQuota"]["spec"]["hard"]
    assert hard["pods"] == "11"  # 2 x 5 processes + 1 release pod
    assert hard["limits.memory"] == f"{11 * 256}Mi"
    assert hard["limits.cpu"] == f"{11 * 500}m"
    assert hard["count/services"] == "3"
    limit = objects["LimitRange"]["spec"]["limits"][0]
    assert limit["max"] == {"memory": "256Mi", "cpu": "500m", "ephemeral-storage": "1024Mi"}
    pod = objects["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["resources"]["limits"]["memory"] == "256Mi"
    assert pod["volumes"][0]["emptyDir"]["sizeLimit"] == "1024Mi"
    assert "tls" not in objects["Ingress"]["spec"]  # no cluster issuer configured


def test_pods_are_restricted_and_get_their_config_from_the_secret(settings):
    objects = every_manifest(settings)
    secret = next(o for o in objects if o["kind"] == "Secret")
    deployments = [o for o in objects if o["kind"] in ("Deployment", "Job")]
    for obj in deployments:
        pod = obj["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        container = pod["containers"][0]
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert container["envFrom"] == [{"secretRef": {"name": secret["metadata"]["name"]}}]
        # The config's values are only in the Secret.
        assert "hello" not in str(obj)
    web = next(o for o in deployments if o["metadata"]["name"].endswith("-web"))
    assert web["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    assert web["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"] == {
        "path": "/healthz",
        "port": "http",
    }
    assert web["spec"]["replicas"] == 2


def test_network_policies_deny_private_ranges_and_let_the_ingress_controller_in(settings):
    settings.DEPLOY_K8S_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    policies = {
        o["metadata"]["name"]: o["spec"]
        for o in manifests.tenant_objects("alpha", LIMITS)
        if o["kind"] == "NetworkPolicy"
    }
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    source = policies["allow-ingress-controller"]["ingress"][0]["from"][0]
    assert source["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "ingress-nginx"
    }
    egress = policies["allow-egress"]["egress"]
    assert egress[0]["ports"] == [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    internet = egress[1]["to"][0]["ipBlock"]
    assert internet["cidr"] == "0.0.0.0/0"
    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"} <= set(
        internet["except"]
    )
    assert egress[2] == {"to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}]}


def test_gateway_api_routing_makes_an_http_route(settings):
    settings.DEPLOY_K8S_ROUTING = "gateway"
    settings.DEPLOY_K8S_GATEWAY = "infra/public"
    settings.DEPLOY_K8S_CLUSTER_ISSUER = "letsencrypt"
    route = Route(app_key="ab" * 16, hosts=("b.example.com", "a.example.com"), kind="python")
    obj = manifests.http_route_objects("alpha", route)
    assert obj["kind"] == "HTTPRoute"
    assert obj["spec"]["parentRefs"] == [{"name": "public", "namespace": "infra"}]
    assert obj["spec"]["hostnames"] == ["a.example.com", "b.example.com"]
    # cert-manager reads no HTTPRoutes: TLS is the Gateway's, so no issuer annotation here.
    assert "cert-manager.io/cluster-issuer" not in (obj["metadata"].get("annotations") or {})
