"""The custom resources Quayside writes pass their projects' published schemas, vendored in
tests/k8s/schemas (README.md there names the source): every HTTPRoute the provider generates
against Gateway API v1.3.0's standard-channel CRD, and the cert-manager annotations it writes
against the names cert-manager v1.19.6's certificate shims read. The emulator applies the same
check to every HTTPRoute written to it, so a bad one is refused like a bad Deployment."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from apps.deploy.runtime.base import Route
from apps.deploy.runtime.kubernetes import manifests

from .schemas import HERE, crd_problem, published

APP = "ab" * 16
APP_HOST = "ab12.alpha.apps.example.com"
CUSTOM = ("shop.example.com", "www.shop.example.com", "example.org")
SHIM = json.loads((HERE / "cert-manager_shim_annotations.json").read_text())["annotations"]
# A Kubernetes object name (DNS-1123 subdomain): what a ClusterIssuer's name must be.
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def http_route(settings, hosts, *, issuer: str = "", gateway: str = "infra/public") -> dict:
    settings.DEPLOY_K8S_ROUTING = "gateway"
    settings.DEPLOY_K8S_GATEWAY = gateway
    settings.DEPLOY_K8S_CLUSTER_ISSUER = issuer
    return manifests.http_route_objects("alpha", Route(app_key=APP, hosts=hosts, kind="python"))


def test_the_vendored_schema_is_the_published_http_route_v1():
    schema = published("gateway.networking.k8s.io/v1", "HTTPRoute")
    assert schema["properties"]["apiVersion"]["type"] == "string"
    assert schema["properties"]["spec"]["properties"]["hostnames"]["maxItems"] == 16
    assert set(schema["properties"]) == {"apiVersion", "kind", "metadata", "spec", "status"}


@pytest.mark.parametrize("issuer", ["", "letsencrypt-prod"], ids=["no-tls", "tls"])
@pytest.mark.parametrize("hosts", [(APP_HOST,), (APP_HOST, *CUSTOM)], ids=["app-host", "domains"])
@pytest.mark.parametrize("gateway", ["infra/public", "public"])
def test_every_generated_http_route_passes_the_published_schema(settings, issuer, hosts, gateway):
    route = http_route(settings, hosts, issuer=issuer, gateway=gateway)
    assert route["kind"] == "HTTPRoute"
    assert route["spec"]["hostnames"] == sorted(hosts)
    assert crd_problem(route) == ""


BREAKS = {
    "unknown field": (lambda r: r["spec"].update(hostname=APP_HOST), "spec: Additional"),
    "uppercase host": (lambda r: r["spec"]["hostnames"].append("Shop.Example.com"),
                       "spec.hostnames.1: 'Shop.Example.com' does not match"),
    "port out of range": (lambda r: r["spec"]["rules"][0]["backendRefs"][0].update(port=70000),
                          "spec.rules.0.backendRefs.0.port: 70000 is greater than"),
    "parentRef without name": (lambda r: r["spec"]["parentRefs"][0].pop("name"),
                               "spec.parentRefs.0: 'name' is a required property"),
    "Service backend without port (CEL rule)": (
        lambda r: r["spec"]["rules"][0]["backendRefs"][0].pop("port"),
        "spec.rules.0.backendRefs.0: Must have port for Service reference"),
}  # fmt: skip


@pytest.mark.parametrize("name", BREAKS)
def test_a_broken_http_route_fails_the_published_schema(settings, name):
    """The check can fail: each break of a generated route is refused, naming the field."""
    route = http_route(settings, (APP_HOST,))
    breaking, message = BREAKS[name]
    breaking(route)
    assert crd_problem(route).startswith(message)


def test_the_emulator_refuses_a_bad_http_route_and_keeps_a_good_one(k8s, settings):
    path = "/apis/gateway.networking.k8s.io/v1/namespaces/t/httproutes"
    good = http_route(settings, (APP_HOST, *CUSTOM), issuer="letsencrypt-prod")
    good["metadata"]["namespace"] = "t"
    bad = json.loads(json.dumps(good))
    bad["spec"]["hostnames"].append("Not_A_Host")
    with httpx.Client(base_url=k8s.url) as api:
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "t"}}
        assert api.post("/api/v1/namespaces", json=ns).status_code == 201
        refused = api.post(path, json=bad)
        assert refused.status_code == 422, refused.text
        assert refused.json()["reason"] == "Invalid"
        assert "spec.hostnames.4" in refused.json()["message"]
        assert api.get(f"{path}/{good['metadata']['name']}").status_code == 404
        assert api.post(path, json=good).status_code == 201


def test_cert_manager_annotations_are_names_its_shims_read(settings):
    """cert-manager's ingress-shim turns an Ingress carrying `cert-manager.io/cluster-issuer`
    and a spec.tls block (hosts + secretName) into a Certificate for those hosts."""
    settings.DEPLOY_K8S_ROUTING = "ingress"
    settings.DEPLOY_K8S_CLUSTER_ISSUER = "letsencrypt-prod"
    route = Route(app_key=APP, hosts=(APP_HOST, *CUSTOM), kind="python")
    ingress = manifests.http_route_objects("alpha", route)
    annotations = ingress["metadata"]["annotations"]
    cert_manager = {k: v for k, v in annotations.items() if "cert-manager.io/" in k}
    assert cert_manager == {SHIM["cmapi.IngressClusterIssuerNameAnnotationKey"]: "letsencrypt-prod"}
    assert all(DNS_SUBDOMAIN.fullmatch(value) for value in cert_manager.values())
    (tls,) = ingress["spec"]["tls"]
    assert tls["secretName"] and sorted(tls["hosts"]) == sorted(route.hosts)
    assert {rule["host"] for rule in ingress["spec"]["rules"]} == set(tls["hosts"])


NOBODY_READS = (
    "cert-manager reads issuer annotations on Ingresses and Gateways only (certificate-shim/"
    "gateways watches Gateways, not HTTPRoutes): on an HTTPRoute it asks for a certificate "
    "nobody issues"
)


def test_an_http_route_carries_no_cert_manager_annotation_nobody_reads(settings):
    route = http_route(settings, (APP_HOST,), issuer="letsencrypt-prod")
    annotations = route["metadata"].get("annotations") or {}
    assert not [k for k in annotations if k in SHIM.values()]


def test_an_app_with_seventeen_hosts_gets_routes_the_server_accepts(settings):
    hosts = (APP_HOST, *(f"d{i}.example.com" for i in range(16)))
    http_route(settings, hosts)  # gateway mode
    routes = manifests.http_routes("alpha", Route(app_key=APP, hosts=hosts, kind="python"))
    assert [len(r["spec"]["hostnames"]) for r in routes] == [16, 1]
    assert len({r["metadata"]["name"] for r in routes}) == 2
    assert sorted(h for r in routes for h in r["spec"]["hostnames"]) == sorted(hosts)
    for route in routes:
        assert crd_problem(route) == ""
