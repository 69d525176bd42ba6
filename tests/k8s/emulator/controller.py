"""`FakeController`: the part of a cluster that moves objects through their status.

Stands in for kube-controller-manager's Deployment, ReplicaSet and Job controllers, the
scheduler and the kubelet, crudely and visibly:
- a Deployment gets one ReplicaSet per pod template (named `<deployment>-<template hash>`);
  when the newest one's pods are all ready the older ones are scaled to 0 (maxUnavailable 0);
- a ReplicaSet creates and deletes pods to match `replicas`; a pod the ResourceQuota refuses is
  not created and the ReplicaSet (and its Deployment) get the `ReplicaFailure` condition with
  reason `FailedCreate`, as the real controller reports it;
- a pod goes Pending → Running and ready, unless its image was told to behave otherwise
  (`behave(image, mode)`): "crash-loop" (waiting CrashLoopBackOff, last terminated Error exit 1),
  "oom-killed" (the same with last terminated OOMKilled exit 137), "image-pull" (Pending,
  waiting ImagePullBackOff), "not-ready" (running, readiness never passes);
- a Job gets one pod, which runs and ends Succeeded or Failed (`job_outcome(text, exit_code,
  lines, message)` for a command containing `text`; default success), its output kept as the
  pod's log; an image build's pod (component `image-build`) that succeeds terminates with a
  digest as its message, as Kaniko's `--digest-file=/dev/termination-log` leaves it (`message`,
  or the sha256 of its command line: nothing is built or pushed);
- `metrics(True)` installs a metrics API (metrics.k8s.io) reporting each running pod.

Everything it writes goes through the store, so it is schema-checked like a client's writes."""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time

from .resources import BY_KIND
from .store import ApiError, Store, now

MANAGER = "kube-controller-manager"
MODES = ("ready", "crash-loop", "oom-killed", "image-pull", "not-ready")


def _res(kind: str, api_version: str):
    return BY_KIND[(api_version, kind)]


DEPLOYMENT = _res("Deployment", "apps/v1")
REPLICASET = _res("ReplicaSet", "apps/v1")
POD = _res("Pod", "v1")
JOB = _res("Job", "batch/v1")


def _owner(obj: dict) -> dict:
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _owned_by(obj: dict, owner: dict) -> bool:
    refs = obj["metadata"].get("ownerReferences") or []
    return any(ref["uid"] == owner["metadata"]["uid"] for ref in refs)


def _condition(kind: str, status: str, reason: str = "", message: str = "") -> dict:
    condition = {"type": kind, "status": status, "lastTransitionTime": now()}
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    return condition


class FakeController:
    def __init__(self, store: Store, server) -> None:
        self.store = store
        self.server = server
        self.behaviour: dict[str, str] = {}  # image (or a part of it) → mode
        self.jobs: list[tuple[str, int, list[str], str]] = []
        self.app_log: list[str] = ["Listening on 0.0.0.0:8000"]
        self.ticks: dict[str, int] = {}  # pod uid → ticks seen
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="k8s-fake-controller", daemon=True)
        self.errors: list[str] = []

    # --- what tests tell it --------------------------------------------------------------------
    def behave(self, image: str, mode: str) -> None:
        assert mode in MODES, mode
        self.behaviour[image] = mode

    def job_outcome(self, text: str, exit_code: int, lines: list[str], message: str = "") -> None:
        self.jobs.insert(0, (text, exit_code, lines, message))

    def metrics(self, on: bool) -> None:
        self.server.metrics = self._pod_metrics if on else None

    # --- the loop ----------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(0.03):
            try:
                self.step()
            except Exception as exc:  # keep going; tests can look at .errors
                self.errors.append(repr(exc))

    def step(self) -> None:
        with self.store.lock:
            for deployment in self.store.find("Deployment"):
                self._deployment(deployment)
            for rs in self.store.find("ReplicaSet"):
                self._replicaset(rs)
            for job in self.store.find("Job"):
                self._job(job)
            for pod in self.store.find("Pod"):
                self._pod(pod)

    def _mode(self, pod: dict) -> str:
        image = pod["spec"]["containers"][0].get("image", "")
        for part, mode in self.behaviour.items():
            if part in image:
                return mode
        return "ready"

    def _set_status(self, res, obj: dict, status: dict) -> None:
        if obj.get("status") != status:
            ns, name = obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
            self.store.update(res, ns, name, {"status": status}, manager=MANAGER, status_only=True)

    # --- Deployments and ReplicaSets -----------------------------------------------------------
    def _deployment(self, d: dict) -> None:
        ns, name = d["metadata"]["namespace"], d["metadata"]["name"]
        template = d["spec"]["template"]
        digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]
        desired = d["spec"].get("replicas", 1)
        owned = [rs for rs in self.store.find("ReplicaSet", ns) if _owned_by(rs, d)]
        current = next((rs for rs in owned if rs["metadata"]["name"] == f"{name}-{digest}"), None)
        if current is None:
            labels = {**template["metadata"].get("labels", {}), "pod-template-hash": digest}
            spec_template = {**template, "metadata": {**template["metadata"], "labels": labels}}
            current = self.store.create(
                REPLICASET,
                ns,
                {
                    "metadata": {
                        "name": f"{name}-{digest}",
                        "labels": labels,
                        "ownerReferences": [_owner(d)],
                    },
                    "spec": {
                        "replicas": desired,
                        "selector": {"matchLabels": labels},
                        "template": spec_template,
                    },
                },
                manager=MANAGER,
            )
            owned.append(current)
        elif current["spec"]["replicas"] != desired:
            self.store.patch(
                REPLICASET,
                ns,
                current["metadata"]["name"],
                {"spec": {"replicas": desired}},
                manager=MANAGER,
            )
        status = current.get("status", {})
        ready = status.get("readyReplicas", 0)
        for old in owned:
            if old is not current and ready >= desired and old["spec"]["replicas"]:
                self.store.patch(
                    REPLICASET,
                    ns,
                    old["metadata"]["name"],
                    {"spec": {"replicas": 0}},
                    manager=MANAGER,
                )
        total = sum(rs.get("status", {}).get("replicas", 0) for rs in owned)
        all_ready = sum(rs.get("status", {}).get("readyReplicas", 0) for rs in owned)
        conditions = [
            _condition(
                "Available",
                "True" if ready >= desired else "False",
                "MinimumReplicasAvailable" if ready >= desired else "MinimumReplicasUnavailable",
            ),
            _condition(
                "Progressing",
                "True",
                "NewReplicaSetAvailable" if ready >= desired else "ReplicaSetUpdated",
            ),
        ]
        failure = next(
            (c for c in status.get("conditions", []) if c["type"] == "ReplicaFailure"), None
        )
        if failure is not None:
            conditions.append(failure)
        new_status = {
            "observedGeneration": d["metadata"]["generation"],
            "replicas": total,
            "updatedReplicas": status.get("replicas", 0),
            "readyReplicas": all_ready,
            "availableReplicas": all_ready,
            "conditions": conditions,
        }
        if total - all_ready:
            new_status["unavailableReplicas"] = total - all_ready
        self._keep_times(d.get("status", {}), new_status)
        self._set_status(DEPLOYMENT, d, new_status)

    def _replicaset(self, rs: dict) -> None:
        ns = rs["metadata"]["namespace"]
        pods = [p for p in self.store.find("Pod", ns) if _owned_by(p, rs)]
        want = rs["spec"].get("replicas", 1)
        failure = None
        while len(pods) < want:
            try:
                pods.append(self._create_pod(rs, rs["spec"]["template"], ns))
            except ApiError as exc:
                failure = _condition("ReplicaFailure", "True", "FailedCreate", exc.message)
                break
        for pod in pods[want:]:
            self.store.delete(POD, ns, pod["metadata"]["name"])
        pods = pods[:want]
        ready = sum(1 for p in pods if _pod_ready(p))
        status = {
            "replicas": len(pods),
            "fullyLabeledReplicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": rs["metadata"]["generation"],
        }
        if failure is not None:
            status["conditions"] = [failure]
        self._keep_times(rs.get("status", {}), status)
        self._set_status(REPLICASET, rs, status)

    def _create_pod(self, owner: dict, template: dict, ns: str, extra_labels=None) -> dict:
        name = f"{owner['metadata']['name']}-{secrets.token_hex(3)[:5]}"
        labels = {**template["metadata"].get("labels", {}), **(extra_labels or {})}
        metadata = {"name": name, "labels": labels, "ownerReferences": [_owner(owner)]}
        if template["metadata"].get("annotations"):
            metadata["annotations"] = template["metadata"]["annotations"]
        spec = {**template["spec"], "nodeName": "emulated-node"}
        pod = {"metadata": metadata, "spec": spec, "status": {"phase": "Pending"}}
        return self.store.create(POD, ns, pod, manager=MANAGER)

    # --- Pods (the kubelet) ------------------------------------------------------------------
    def _pod(self, pod: dict) -> None:
        uid = pod["metadata"]["uid"]
        ticks = self.ticks[uid] = self.ticks.get(uid, 0) + 1
        if pod["status"].get("phase") in ("Succeeded", "Failed"):
            return
        job_name = pod["metadata"].get("labels", {}).get("job-name")
        if job_name:
            self._job_pod(pod, ticks)
            return
        container = pod["spec"]["containers"][0]
        mode = self._mode(pod)
        base = {"name": container["name"], "image": container["image"], "imageID": ""}
        scheduled = [_condition("PodScheduled", "True")]
        if mode == "image-pull":
            waiting = {
                "reason": "ImagePullBackOff" if ticks % 2 else "ErrImagePull",
                "message": f'Back-off pulling image "{container["image"]}"',
            }
            cs = {**base, "ready": False, "restartCount": 0, "state": {"waiting": waiting}}
            status = {"phase": "Pending", "conditions": scheduled, "containerStatuses": [cs]}
        elif mode in ("crash-loop", "oom-killed") and ticks > 1:
            oom = mode == "oom-killed"
            terminated = {
                "exitCode": 137 if oom else 1,
                "reason": "OOMKilled" if oom else "Error",
                "startedAt": now(),
                "finishedAt": now(),
            }
            waiting = {
                "reason": "CrashLoopBackOff",
                "message": f"back-off 10s restarting failed container={base['name']} "
                f"pod={pod['metadata']['name']}",
            }
            cs = {
                **base,
                "ready": False,
                "restartCount": min(ticks // 4 + 1, 9),
                "state": {"waiting": waiting},
                "lastState": {"terminated": terminated},
            }
            status = {
                "phase": "Running",
                "conditions": [*scheduled, _condition("Ready", "False", "ContainersNotReady")],
                "containerStatuses": [cs],
            }
            if ticks == 2:
                self.store.add_log(
                    pod["metadata"]["namespace"],
                    pod["metadata"]["name"],
                    "Traceback (most recent call last):",
                    "MemoryError" if oom else "RuntimeError: boom",
                )
        elif ticks > 1:
            ready = mode != "not-ready"
            cs = {
                **base,
                "ready": ready,
                "started": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": pod["metadata"]["creationTimestamp"]}},
            }
            status = {
                "phase": "Running",
                "podIP": "10.244.0.10",
                "startTime": pod["metadata"]["creationTimestamp"],
                "conditions": [
                    *scheduled,
                    _condition("Ready", "True" if ready else "False"),
                    _condition("ContainersReady", "True" if ready else "False"),
                ],
                "containerStatuses": [cs],
            }
            if ticks == 2:
                self.store.add_log(
                    pod["metadata"]["namespace"], pod["metadata"]["name"], *self.app_log
                )
        else:
            status = {"phase": "Pending", "conditions": scheduled}
        self._keep_times(pod.get("status", {}), status)
        self._set_status(POD, pod, status)

    # --- Jobs --------------------------------------------------------------------------------
    def _job(self, job: dict) -> None:
        ns = job["metadata"]["namespace"]
        pods = [p for p in self.store.find("Pod", ns) if _owned_by(p, job)]
        status = dict(job.get("status", {}))
        if any(c["type"] in ("Complete", "Failed") for c in status.get("conditions", [])):
            return
        if not pods:
            try:
                self._create_pod(
                    job, job["spec"]["template"], ns, {"job-name": job["metadata"]["name"]}
                )
            except ApiError as exc:
                self.errors.append(exc.message)
                return
            status = {"startTime": now(), "active": 1}
        else:
            phase = pods[0]["status"].get("phase")
            if phase == "Succeeded":
                status = {
                    "startTime": status.get("startTime", now()),
                    "completionTime": now(),
                    "succeeded": 1,
                    "conditions": [_condition("Complete", "True")],
                }
            elif phase == "Failed":
                status = {
                    "startTime": status.get("startTime", now()),
                    "failed": 1,
                    "conditions": [
                        _condition(
                            "Failed",
                            "True",
                            "BackoffLimitExceeded",
                            "Job has reached the specified backoff limit",
                        )
                    ],
                }
        self._set_status(JOB, job, status)

    def _job_pod(self, pod: dict, ticks: int) -> None:
        container = pod["spec"]["containers"][0]
        command = " ".join(container.get("command", []) + container.get("args", []))
        exit_code, lines, message = 0, [f"ran: {command}"], ""
        for text, code, out, said in self.jobs:
            if text in command:
                exit_code, lines, message = code, out, said
                break
        if pod["metadata"]["labels"].get("app.kubernetes.io/component") == "image-build":
            message = message or "sha256:" + hashlib.sha256(command.encode()).hexdigest()
        base = {
            "name": container["name"],
            "image": container["image"],
            "imageID": "",
            "restartCount": 0,
        }
        if ticks == 1:
            status = {
                "phase": "Running",
                "containerStatuses": [
                    {**base, "ready": True, "state": {"running": {"startedAt": now()}}}
                ],
            }
            self.store.add_log(pod["metadata"]["namespace"], pod["metadata"]["name"], *lines)
        else:
            terminated = {
                "exitCode": exit_code,
                "reason": "Completed" if exit_code == 0 else "Error",
                "startedAt": now(),
                "finishedAt": now(),
            }
            if message and exit_code == 0:
                terminated["message"] = message
            status = {
                "phase": "Succeeded" if exit_code == 0 else "Failed",
                "containerStatuses": [
                    {**base, "ready": False, "state": {"terminated": terminated}}
                ],
            }
        self._set_status(POD, pod, status)

    # --- helpers -----------------------------------------------------------------------------
    @staticmethod
    def _keep_times(old: dict, new: dict) -> None:
        """Keep a condition's lastTransitionTime while its status stays (so writes settle)."""
        before = {c["type"]: c for c in old.get("conditions", [])}
        for c in new.get("conditions", []):
            if c["type"] in before and before[c["type"]]["status"] == c["status"]:
                c["lastTransitionTime"] = before[c["type"]]["lastTransitionTime"]
        for key in ("startedAt", "finishedAt"):
            for cs_old, cs_new in zip(
                old.get("containerStatuses", []), new.get("containerStatuses", []), strict=False
            ):
                for state in ("running", "terminated"):
                    for where in ("state", "lastState"):
                        o = cs_old.get(where, {}).get(state, {})
                        n = cs_new.get(where, {}).get(state, {})
                        if key in o and key in n and o.get("reason") == n.get("reason"):
                            n[key] = o[key]

    def _pod_metrics(self) -> list[dict]:
        items = []
        for pod in self.store.find("Pod"):
            if pod["status"].get("phase") != "Running":
                continue
            items.append(
                {
                    "metadata": {
                        "name": pod["metadata"]["name"],
                        "namespace": pod["metadata"]["namespace"],
                        "labels": pod["metadata"].get("labels", {}),
                    },
                    "timestamp": now(),
                    "window": "15s",
                    "containers": [
                        {"name": c["name"], "usage": {"cpu": "12m", "memory": "48Mi"}}
                        for c in pod["spec"]["containers"]
                    ],
                }
            )
        return items


def _pod_ready(pod: dict) -> bool:
    return any(
        c["type"] == "Ready" and c["status"] == "True"
        for c in pod.get("status", {}).get("conditions", [])
    )


def wait_for(predicate, timeout: float = 5.0, interval: float = 0.02):
    """Poll `predicate` until it returns something true (tests' helper)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
