"""Drift: an object deleted or edited in the cluster is found by the reconciler's call
(ensure_running), re-applied, recorded, and listed to operators at /api/v1/admin/runtime/drift."""

from __future__ import annotations

from apps.core.models import AuditEvent
from apps.deploy.runtime.kubernetes import drift
from tests.k8s.emulator.controller import DEPLOYMENT
from tests.k8s.emulator.resources import BY_KIND

APP = "cd" * 16
NS = "qs-alpha"
URL = "/api/v1/admin/runtime/drift"


def test_deleted_and_modified_objects_are_repaired_and_recorded(driver, k8s, world, client_for):
    spec = driver.spec(APP, "d00000000001", artefact=driver.artefact(), formation={"web": 2})
    assert driver.deploy(spec).ok
    assert driver.provider.ensure_running(spec) == []  # nothing drifted yet: nothing recorded
    assert not AuditEvent.objects.filter(action=drift.ACTION).exists()

    # Someone scales the web Deployment by hand and deletes a NetworkPolicy and the Service.
    web = f"a{APP[:16]}-d00000000001-web"
    k8s.store.patch(DEPLOYMENT, NS, web, {"spec": {"replicas": 7}}, manager="kubectl-edit")
    k8s.store.delete(BY_KIND[("networking.k8s.io/v1", "NetworkPolicy")], NS, "allow-egress")
    k8s.store.delete(BY_KIND[("v1", "Service")], NS, f"a{APP[:16]}-web")

    actions = driver.provider.ensure_running(spec)
    assert sorted(actions) == sorted([
        f"repaired drift: Deployment {NS}/{web} had spec.replicas changed",
        f"repaired drift: NetworkPolicy {NS}/allow-egress was missing",
        f"repaired drift: Service {NS}/a{APP[:16]}-web was missing",
    ])  # fmt: skip
    assert k8s.store.get(DEPLOYMENT, NS, web)["spec"]["replicas"] == 2
    assert driver.provider.routed_to(APP) == "d00000000001"
    assert driver.provider.ensure_running(spec) == []  # repaired for good

    events = AuditEvent.objects.filter(action=drift.ACTION)
    assert events.count() == 3
    assert {e.tenant_label for e in events} == {"alpha"}

    operator = client_for(world["operator"])
    response = operator.get(URL)
    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    modified = next(r for r in rows if r["kind"] == "Deployment")
    expected = {"tenant": "alpha", "namespace": NS, "name": web, "change": "modified",
                "fields": ["spec.replicas"], "app_key": APP}  # fmt: skip
    assert modified == {**modified, **expected}
    assert {r["change"] for r in rows} == {"missing", "modified"}
    assert operator.get(URL, {"tenant": "bravo"}).json()["results"] == []


def test_only_operators_see_drift(world, client_for):
    response = client_for(world["alice"]).get(URL)
    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/problem+json")
