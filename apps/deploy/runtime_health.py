"""The runtime host as the operator sees it: a Caddy probe for the Integrations page
(settings.INTEGRATION_PROBES) and the `runtime` node that the `deploy.runtime_report` beat task
keeps fresh (supervisord and Caddy up, programs by state, CPU and memory of the process tree)."""

from __future__ import annotations

import socket
from collections import Counter

from django.conf import settings

from apps.core.integrations import DOWN, NOT_CONFIGURED, ProbeResult, Timer, latency_status
from apps.core.models import NodeKind
from apps.core.nodes import ProcessTreeSampler, Usage, node_report_quietly

from .runtime import RuntimeProblem, get_provider
from .runtime.local import LocalProvider

# Kept per worker process, so that CPU % is measured between two reports (see the sampler).
_samplers: dict[int, ProcessTreeSampler] = {}


def _local() -> LocalProvider | None:
    provider = get_provider()
    return provider if isinstance(provider, LocalProvider) else None


def probe_caddy() -> ProbeResult:
    provider = _local()
    if provider is None:
        return ProbeResult("caddy", NOT_CONFIGURED, f"provider {settings.DEPLOY_PROVIDER}")
    socket_path = provider.caddy.admin_socket
    try:
        with Timer() as timer:
            config = provider.caddy.current() or {}
    except RuntimeProblem as exc:
        return ProbeResult("caddy", DOWN, exc.message, details={"admin_socket": socket_path})
    servers = config.get("apps", {}).get("http", {}).get("servers", {})
    routes = sum(len(server.get("routes", [])) for server in servers.values())
    return ProbeResult(
        "caddy",
        latency_status(timer.ms),
        f"admin API answers; {routes} route(s) loaded",
        timer.ms,
        {"admin_socket": socket_path, "routes": routes},
    )


def runtime_status(provider: LocalProvider) -> tuple[int | None, dict]:
    """supervisord's pid (None when it does not answer) and what to show about the host."""
    details: dict = {"provider": provider.name, "healthy": True}
    pid = None
    try:
        details["supervisord"] = provider.supervisor.ping()
        pid = provider.supervisor.pid()
        states = Counter(info["statename"] for info in provider.supervisor.processes())
        details["processes"] = dict(states)
        details["healthy"] = details["supervisord"] == "RUNNING"
    except RuntimeProblem as exc:
        details.update(supervisord=f"down: {exc.message}", healthy=False)
    try:
        provider.caddy.current()
        details["caddy"] = "up"
    except RuntimeProblem as exc:
        details.update(caddy=f"down: {exc.message}", healthy=False)
    return pid, details


def runtime_report() -> dict:
    """Upsert the `runtime@<host>` node. Returns what was reported."""
    provider = _local()
    if provider is None:
        return {"skipped": f"provider {settings.DEPLOY_PROVIDER}"}
    pid, details = runtime_status(provider)
    usage = Usage()
    if pid:
        sampler = _samplers.setdefault(pid, ProcessTreeSampler(pid))
        usage = sampler.sample()
        details = {**usage.details, **details}
    usage.details = details
    name = f"runtime@{socket.gethostname()}"
    node_report_quietly(name=name, kind=NodeKind.RUNTIME, usage=usage, pid=pid)
    return {"name": name, **details}
