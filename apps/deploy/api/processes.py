"""What `GET /apps/{id}/status`, `/processes` and `/metrics` answer about an app's processes:
the runtime's view (state, CPU, memory) with each process's exits from the database (the last
one, restarts and OOM kills in the last 24 hours), and its CPU and memory minute by minute.
A fixed number of queries whatever the number of processes, exits or samples."""

from __future__ import annotations

import datetime as dt
import re

from django.utils import timezone
from rest_framework.fields import DateTimeField

from .. import selectors, usage_selectors
from ..models import App
from ..runtime import RuntimeProblem, get_provider
from .metrics_serializers import PROCESS
from .serializers import ProcessExitOutput


def runtime_processes(app: App) -> tuple[list[dict], str]:
    """The processes the runtime runs for the app, with their exits; or why it could not say."""
    processes, error = [], ""
    try:
        live_key = app.live_deployment_id.hex[:12] if app.live_deployment_id else None
        for process in get_provider().status(app.pk.hex):
            processes.append(
                {
                    **process.__dict__,
                    "healthy": process.state == "RUNNING" and process.deployment_key == live_key,
                }
            )
    except RuntimeProblem as exc:
        error = exc.message
    keys = [(p["deployment_key"], p["process_type"], p["index"]) for p in processes]
    histories = usage_selectors.process_histories(app=app, keys=keys, now=timezone.now())
    for process, key in zip(processes, keys, strict=True):
        history = histories.get(key) or usage_selectors.ProcessHistory()
        process["last_exit"] = history.last_exit
        process["restarts_24h"] = history.restarts
        process["oom_kills_24h"] = history.oom_kills
    return processes, error


def crash_fields(app: App) -> dict:
    summary = usage_selectors.crash_summary(app=app, now=timezone.now())
    return {
        "last_crash": summary.last_crash,
        "crashes_24h": summary.crashes,
        "oom_kills_24h": summary.oom_kills,
    }


def limits_of(tenant) -> dict[str, int]:
    limits = selectors.resource_limits(tenant=tenant)
    return {
        "memory_mb": limits.memory_mb,
        "cpu_millicores": limits.cpu_millicores,
        "pids": limits.pids,
        "disk_mb": limits.disk_mb,
    }


def metrics(app: App, *, tenant, query: dict) -> dict:
    """The body of GET /apps/{id}/metrics (MetricsOutput) for validated `query`
    (MetricsQueryInput), rendered: up to 1,440 points per process are made here rather than by
    nested serializers, which took most of the answer's time (160 of 220 ms for 4 processes
    of 1,440 points)."""
    stamp = DateTimeField().to_representation
    until = timezone.now()
    since = query.get("since") or until - dt.timedelta(minutes=query["minutes"])
    since = max(since, until - usage_selectors.HISTORY)
    process_type, index = "", None
    if query.get("process"):
        match = re.match(PROCESS, query["process"])
        process_type = match["type"]
        index = int(match["index"]) if match["index"] is not None else None
    window = {"app": app, "since": since, "until": until}
    series = usage_selectors.usage_series(**window, process_type=process_type, index=index)
    limits = limits_of(tenant)
    exits = usage_selectors.exits_between(**window, process_type=process_type, index=index)
    return {
        "since": stamp(since),
        "until": stamp(until),
        "resolution_s": 60,
        "limits": {k: limits[k] for k in ("memory_mb", "cpu_millicores")},
        "processes": [
            {
                "type": one.process_type,
                "index": one.index,
                "deployment_key": one.deployment_key,
                "memory_limit_bytes": one.memory_limit_bytes,
                "points": [
                    {"at": stamp(at), "cpu_millicores": cpu, "memory_bytes": memory}
                    for at, cpu, memory in one.points
                ],
            }
            for one in series
        ],
        "exits": ProcessExitOutput(exits, many=True).data,
    }
