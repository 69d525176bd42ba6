"""The cluster's view of an app, in the runtime interface's terms: pure functions of API
objects (dicts as the API returns them), so that each mapping is tested from a hand-written
object.

Pod → ProcessStatus.state (the local provider's supervisord names, which the API and consoles
already show):
    Running and Ready                                 RUNNING
    waiting CrashLoopBackOff (last exit OOMKilled)    BACKOFF, "OOMKilled: …"
    waiting CrashLoopBackOff                          BACKOFF, "CrashLoopBackOff: …"
    waiting ImagePullBackOff / ErrImagePull           FATAL, "ImagePullBackOff: …"
    Pending, or Running but not ready                 STARTING
    Succeeded / Failed                                EXITED
A Deployment whose ReplicaSet could not create pods (condition ReplicaFailure, reason
FailedCreate: typically "exceeded quota") shows one FATAL entry per missing pod."""

from __future__ import annotations

import datetime as dt

from ..base import ProcessExit, ProcessStatus, UsageSample
from . import names

PULL_ERRORS = ("ImagePullBackOff", "ErrImagePull", "InvalidImageName")


def _labels(obj: dict) -> dict:
    return obj.get("metadata", {}).get("labels") or {}


def _seconds(timestamp: str | None) -> float | None:
    if not timestamp:
        return None
    return dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def _ready(pod: dict) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in pod.get("status", {}).get("conditions") or []
    )


def pod_state(pod: dict) -> tuple[str, str]:
    """(state, description) of one pod, from its phase and its first container's status."""
    status = pod.get("status") or {}
    phase = status.get("phase", "Pending")
    containers = status.get("containerStatuses") or []
    container = containers[0] if containers else {}
    waiting = (container.get("state") or {}).get("waiting") or {}
    last = (container.get("lastState") or {}).get("terminated") or {}
    restarts = container.get("restartCount", 0)
    reason = waiting.get("reason", "")
    if reason == "CrashLoopBackOff":
        if last.get("reason") == "OOMKilled":
            return "BACKOFF", (
                f"OOMKilled: the process used more than its memory limit "
                f"(exit {last.get('exitCode', 137)}, restarted {restarts} times)"
            )
        return "BACKOFF", (
            f"CrashLoopBackOff: the process keeps exiting "
            f"(last exit {last.get('exitCode', '?')} {last.get('reason', '')}, "
            f"restarted {restarts} times)".replace(" ,", ",")
        )
    if reason in PULL_ERRORS:
        return "FATAL", f"{reason}: {waiting.get('message') or 'the image cannot be pulled'}"
    if phase in ("Succeeded", "Failed"):
        return "EXITED", phase
    if phase == "Running" and _ready(pod):
        return "RUNNING", ""
    if phase == "Running":
        return "STARTING", "running, not ready yet (readiness probe)"
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            return (
                "STARTING",
                f"{condition.get('reason', 'Pending')}: {condition.get('message', '')}",
            )
    return "STARTING", reason or "Pending"


def process_statuses(pods: list[dict], deployments: list[dict]) -> list[ProcessStatus]:
    """The app's processes, from its pods (not its release Jobs' pods) and Deployments."""
    out: list[ProcessStatus] = []
    groups: dict[tuple[str, str], list[dict]] = {}
    for pod in pods:
        labels = _labels(pod)
        if labels.get(names.ROLE) != "process":
            continue
        key = (labels.get(names.DEPLOYMENT, ""), labels.get(names.PROCESS_TYPE, ""))
        groups.setdefault(key, []).append(pod)
    for deployment in deployments:
        labels = _labels(deployment)
        groups.setdefault(
            (labels.get(names.DEPLOYMENT, ""), labels.get(names.PROCESS_TYPE, "")), []
        )
    by_name = {
        (_labels(d).get(names.DEPLOYMENT, ""), _labels(d).get(names.PROCESS_TYPE, "")): d
        for d in deployments
    }
    for (deployment_key, ptype), members in sorted(groups.items()):
        members.sort(key=lambda p: p["metadata"]["name"])
        for index, pod in enumerate(members):
            state, description = pod_state(pod)
            started = _seconds((pod.get("status") or {}).get("startTime"))
            out.append(
                ProcessStatus(
                    name=pod["metadata"]["name"],
                    deployment_key=deployment_key,
                    process_type=ptype,
                    index=index,
                    state=state,
                    uptime_s=int(dt.datetime.now(dt.UTC).timestamp() - started)
                    if started and state == "RUNNING"
                    else None,
                    description=description,
                )
            )
        deployment = by_name.get((deployment_key, ptype))
        failure = create_failure(deployment) if deployment else ""
        if failure:
            wanted = deployment["spec"].get("replicas", 0)
            for index in range(len(members), wanted):
                out.append(
                    ProcessStatus(
                        name=deployment["metadata"]["name"],
                        deployment_key=deployment_key,
                        process_type=ptype,
                        index=index,
                        state="FATAL",
                        description=failure,
                    )
                )
    return out


def create_failure(deployment: dict) -> str:
    """Why a Deployment's pods could not be created ("" when they could)."""
    for condition in (deployment.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "ReplicaFailure" and condition.get("status") == "True":
            return f"{condition.get('reason', 'FailedCreate')}: {condition.get('message', '')}"
    return ""


def exits(pods: list[dict]) -> list[tuple[str, ProcessExit]]:
    """(cursor key, exit) of every container termination the pods still show."""
    out = []
    for pod in pods:
        labels = _labels(pod)
        if labels.get(names.ROLE) != "process":
            continue
        for container in (pod.get("status") or {}).get("containerStatuses") or []:
            terminated = (container.get("lastState") or {}).get("terminated")
            if not terminated or not terminated.get("finishedAt"):
                continue
            restarts = container.get("restartCount", 0)
            key = f"{terminated['finishedAt']}|{pod['metadata']['uid']}|{restarts:06d}"
            out.append(
                (
                    key,
                    ProcessExit(
                        app_key=labels.get(names.APP, ""),
                        deployment_key=labels.get(names.DEPLOYMENT, ""),
                        process_type=labels.get(names.PROCESS_TYPE, ""),
                        index=0,
                        at=_seconds(terminated["finishedAt"]) or 0.0,
                        reason="oom_killed"
                        if terminated.get("reason") == "OOMKilled"
                        else "crashed",
                        exit_code=terminated.get("exitCode"),
                        signal=terminated.get("signal"),
                    ),
                )
            )
    return sorted(out, key=lambda pair: pair[0])


def quantity(value: str) -> float:
    """A Kubernetes quantity ("12m", "48Mi", "1") as a number (cores, bytes)."""
    units = {
        "n": 1e-9,
        "u": 1e-6,
        "m": 1e-3,
        "Ki": 2**10,
        "Mi": 2**20,
        "Gi": 2**30,
        "k": 1e3,
        "M": 1e6,
        "G": 1e9,
    }
    for unit in sorted(units, key=len, reverse=True):
        if value.endswith(unit):
            return float(value[: -len(unit)]) * units[unit]
    return float(value)


def usage(metrics: list[dict], pods: dict[str, dict]) -> list[UsageSample]:
    """UsageSamples from metrics.k8s.io PodMetrics. The metrics API gives a rate (cores over
    its window), not cumulative CPU time: cpu_ns is that rate times the pod's uptime, so two
    samples give the recent rate back while it is steady (docs/kubernetes.md)."""
    out = []
    now = dt.datetime.now(dt.UTC).timestamp()
    for item in metrics:
        name = item["metadata"]["name"]
        pod = pods.get(name)
        if pod is None:
            continue
        labels = _labels(pod)
        started = _seconds((pod.get("status") or {}).get("startTime")) or now
        for container in item.get("containers") or []:
            cores = quantity(container["usage"].get("cpu", "0"))
            limit = (
                pod["spec"]["containers"][0].get("resources", {}).get("limits", {}).get("memory")
            )
            out.append(
                UsageSample(
                    app_key=labels.get(names.APP, ""),
                    deployment_key=labels.get(names.DEPLOYMENT, ""),
                    process_type=labels.get(names.PROCESS_TYPE, ""),
                    index=0,
                    at=_seconds(item.get("timestamp")) or now,
                    cpu_ns=int(cores * max(0.0, now - started) * 1e9),
                    memory_bytes=int(quantity(container["usage"].get("memory", "0"))),
                    memory_limit_bytes=int(quantity(limit)) if limit else None,
                )
            )
    return out
