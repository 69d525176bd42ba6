"""One test per status mapping, from hand-written API objects in the shape the API returns
(each validated against the official schema first, and naming its source)."""

from __future__ import annotations

import kubernetes_validate

from apps.deploy.runtime.kubernetes import status

APP = "ab" * 16
LABELS = {
    "app.kubernetes.io/managed-by": "quayside",
    "quayside.dev/app": APP,
    "quayside.dev/deployment": "d00000000001",
    "quayside.dev/process-type": "web",
    "quayside.dev/role": "process",
}


def pod(container_status: dict, phase: str = "Running", conditions=None) -> dict:
    obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "a-web-7d9c-x1", "namespace": "qs-alpha", "uid": "u-1",
                     "labels": LABELS},
        "spec": {"containers": [{"name": "app", "image": "registry.test/demo:1"}]},
        "status": {
            "phase": phase,
            "startTime": "2026-12-01T10:00:00Z",
            "conditions": conditions or [{"type": "Ready", "status": "False"}],
            "containerStatuses": [
                {"name": "app", "image": "registry.test/demo:1", "imageID": "",
                 "ready": False, **container_status}
            ],
        },
    }  # fmt: skip
    kubernetes_validate.validate(obj, "1.34.0", strict=True)
    return obj


def one(obj: dict):
    [process] = status.process_statuses([obj], [])
    return process


def test_crash_loop():
    # Source: `kubectl get pod -o yaml` of a container that exits 1 on start; the fields are
    # https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#container-state-waiting
    obj = pod({
        "restartCount": 4,
        "state": {"waiting": {"reason": "CrashLoopBackOff",
                              "message": "back-off 1m20s restarting failed container=app"}},
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                                     "startedAt": "2026-12-01T10:01:00Z",
                                     "finishedAt": "2026-12-01T10:01:02Z"}},
    })  # fmt: skip
    process = one(obj)
    assert process.state == "BACKOFF"
    assert process.description.startswith("CrashLoopBackOff")
    assert "last exit 1" in process.description and "restarted 4 times" in process.description


def test_oom_killed():
    # Source: https://kubernetes.io/docs/tasks/configure-pod-container/assign-memory-resource/
    # ("Exceed a Container's memory limit": lastState.terminated.reason OOMKilled, exit 137)
    obj = pod({
        "restartCount": 2,
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled",
                                     "startedAt": "2026-12-01T10:01:00Z",
                                     "finishedAt": "2026-12-01T10:01:09Z"}},
    })  # fmt: skip
    process = one(obj)
    assert process.state == "BACKOFF"
    assert process.description.startswith("OOMKilled")
    [(_, exit_)] = status.exits([obj])
    assert exit_.reason == "oom_killed" and exit_.exit_code == 137


def test_image_pull_error():
    # Source: https://kubernetes.io/docs/concepts/containers/images/#imagepullbackoff
    # (`kubectl describe pod`: Waiting, Reason ImagePullBackOff)
    obj = pod(
        {"restartCount": 0, "state": {"waiting": {
            "reason": "ImagePullBackOff",
            "message": 'Back-off pulling image "registry.test/demo:1"'}}},
        phase="Pending",
    )  # fmt: skip
    process = one(obj)
    assert process.state == "FATAL"
    assert process.description == 'ImagePullBackOff: Back-off pulling image "registry.test/demo:1"'
    assert status.exits([obj]) == []


def test_pending_for_quota():
    # Source: `kubectl get deployment -o yaml` when the namespace's ResourceQuota refuses the
    # ReplicaSet's pods (https://kubernetes.io/docs/concepts/policy/resource-quotas/): the
    # ReplicaFailure condition, reason FailedCreate, is copied to the Deployment.
    labels = {**LABELS}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "a-web", "namespace": "qs-alpha", "labels": labels},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels},
                         "spec": {"containers": [{"name": "app", "image": "x"}]}},
        },
        "status": {
            "replicas": 0,
            "conditions": [{
                "type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                "message": 'pods "a-web-7d9c-x2" is forbidden: exceeded quota: quayside, '
                           "requested: pods=1, used: pods=11, limited: pods=11",
            }],
        },
    }  # fmt: skip
    kubernetes_validate.validate(deployment, "1.34.0", strict=True)
    processes = status.process_statuses([], [deployment])
    assert [p.state for p in processes] == ["FATAL", "FATAL"]
    assert "exceeded quota" in processes[0].description


def test_running_and_ready():
    obj = pod(
        {
            "ready": True,
            "restartCount": 0,
            "state": {"running": {"startedAt": "2026-12-01T10:00:01Z"}},
        },
        conditions=[{"type": "Ready", "status": "True"}],
    )
    assert one(obj).state == "RUNNING"


def test_running_but_not_ready_is_starting():
    obj = pod({"restartCount": 0, "state": {"running": {"startedAt": "2026-12-01T10:00:01Z"}}})
    assert one(obj).state == "STARTING"
