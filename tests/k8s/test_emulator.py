"""The emulator behaves enough like an API server for the provider's tests to be able to fail:
it refuses what a real server refuses. Driven over HTTP (httpx), as a client would."""

from __future__ import annotations

import httpx
import pytest

from .emulator import wait_for

NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "t"}}
APPLY = {"Content-Type": "application/apply-patch+yaml"}


def deployment(replicas: int = 1, **extra) -> dict:
    labels = {"app": "x"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "t", "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": "img:1"}]},
            },
            **extra,
        },
    }


@pytest.fixture
def api(k8s):
    with httpx.Client(base_url=k8s.url) as client:
        assert client.post("/api/v1/namespaces", json=NS).status_code == 201
        yield client


DEPLOY = "/apis/apps/v1/namespaces/t/deployments/web"


def apply(api, body, manager="quayside", force=False):
    params = {"fieldManager": manager, **({"force": "true"} if force else {})}
    return api.patch(DEPLOY, json=body, headers=APPLY, params=params)


def test_objects_that_fail_the_schema_are_refused_and_not_stored(api, k8s):
    response = apply(api, deployment(paused="maybe"))
    assert response.status_code == 422
    assert response.json()["reason"] == "Invalid"
    assert "spec.paused" in response.json()["message"]
    assert api.get(DEPLOY).status_code == 404


def test_server_side_apply_tracks_field_managers_and_conflicts(api):
    assert apply(api, deployment(replicas=2)).status_code == 201
    # Another manager changing a field Quayside owns, without force: 409 naming the field.
    other = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
             "spec": {"replicas": 5}}  # fmt: skip
    response = apply(api, other, manager="kubectl")
    assert response.status_code == 409
    assert response.json()["details"]["causes"][0]["field"] == ".spec.replicas"
    # With force it takes the field over; Quayside's next forced apply takes it back.
    assert apply(api, other, manager="kubectl", force=True).json()["spec"]["replicas"] == 5
    body = apply(api, deployment(replicas=2), force=True).json()
    assert body["spec"]["replicas"] == 2
    managers = {m["manager"]: m for m in body["metadata"]["managedFields"]}
    assert managers["quayside"]["operation"] == "Apply"
    assert "f:replicas" in managers["quayside"]["fieldsV1"]["f:spec"]


def test_apply_removes_fields_the_manager_no_longer_applies(api):
    assert apply(api, deployment(minReadySeconds=5)).status_code == 201
    body = apply(api, deployment()).json()
    assert "minReadySeconds" not in body["spec"]


def test_a_stale_resource_version_is_a_conflict(api, k8s):
    k8s.controller.stop()  # its status writes would change the resourceVersion too
    created = apply(api, deployment()).json()
    stale = created["metadata"]["resourceVersion"]
    created["spec"]["replicas"] = 3
    assert api.put(DEPLOY, json=created).status_code == 200
    created["spec"]["replicas"] = 4
    created["metadata"]["resourceVersion"] = stale
    response = api.put(DEPLOY, json=created)
    assert response.status_code == 409
    assert "has been modified" in response.json()["message"]


def test_namespaces_must_exist_and_take_their_objects_along(api, k8s):
    response = api.patch("/apis/apps/v1/namespaces/nope/deployments/web",
                         json={**deployment(), "metadata": {"name": "web"}}, headers=APPLY,
                         params={"fieldManager": "quayside"})  # fmt: skip
    assert response.status_code == 404
    assert apply(api, deployment()).status_code == 201
    assert api.delete("/api/v1/namespaces/t").status_code == 200
    assert api.get(DEPLOY).status_code == 404
    assert k8s.store.find("Pod", "t") == []


def test_label_selectors_filter_lists_across_namespaces(api):
    apply(api, deployment())
    everywhere = api.get("/apis/apps/v1/deployments", params={"labelSelector": "app=x"}).json()
    assert [d["metadata"]["name"] for d in everywhere["items"]] == ["web"]
    none = api.get("/apis/apps/v1/deployments", params={"labelSelector": "app!=x"}).json()
    assert none["items"] == []


def test_the_fake_controller_makes_pods_ready_and_enforces_the_quota(api, k8s):
    quota = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"},
             "spec": {"hard": {"pods": "2"}}}  # fmt: skip
    assert api.post("/api/v1/namespaces/t/resourcequotas", json=quota).status_code == 201
    apply(api, deployment(replicas=3))
    k8s.controller.step()

    def settled():
        status = api.get(DEPLOY).json().get("status", {})
        return status.get("readyReplicas") == 2 and status

    status = wait_for(settled)
    failure = next(c for c in status["conditions"] if c["type"] == "ReplicaFailure")
    assert failure["reason"] == "FailedCreate"
    assert "exceeded quota" in failure["message"]


def test_an_immutable_secrets_data_cannot_change(api):
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
              "immutable": True, "data": {"A": "MQ=="}}  # fmt: skip
    assert api.post("/api/v1/namespaces/t/secrets", json=secret).status_code == 201
    response = api.patch("/api/v1/namespaces/t/secrets/s", json={"data": {"A": "Mg=="}},
                         headers={"Content-Type": "application/merge-patch+json"})  # fmt: skip
    assert response.status_code == 422
    assert "immutable" in response.json()["message"]
