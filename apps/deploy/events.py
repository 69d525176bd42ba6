"""Outbox events of the deploy app (app.*, deployment.*): payloads as the API renders them."""

from __future__ import annotations

from typing import Any

from django.db import connection

from apps.core.outbox import event_emit

from .models import App, Deployment, ProcessEvent


def _tenant(tenant):
    return tenant if tenant is not None else getattr(connection, "tenant", None)


def app_data(app: App, *, tenant=None) -> dict[str, Any]:
    from .api.serializers import AppOutput

    return dict(AppOutput(app, context={"tenant": _tenant(tenant)}).data)


def app_event(type: str, app: App, *, tenant=None) -> None:
    tenant = _tenant(tenant)
    event_emit(type=type, tenant=tenant, data=app_data(app, tenant=tenant))


def deployment_event(type: str, deployment: Deployment, *, tenant=None) -> None:
    from .api.serializers import DeploymentOutput

    tenant = _tenant(tenant)
    data = dict(DeploymentOutput(deployment, context={"tenant": tenant}).data)
    app = app_data(deployment.app, tenant=tenant)
    data["app"] = {k: app[k] for k in ("id", "name", "hostname", "url", "health_check_path")}
    event_emit(type=type, tenant=tenant, data=data)


def process_exit_data(event: ProcessEvent) -> dict[str, Any]:
    """A process's exit as the API renders it (`last_exit` of GET /apps/{id}/processes)."""
    from .api.serializers import ProcessExitOutput

    return dict(ProcessExitOutput(event).data)


def process_crashed_event(event: ProcessEvent, *, tenant=None) -> None:
    """`app.process_crashed`: the exit, with the app it belongs to."""
    tenant = _tenant(tenant)
    data = process_exit_data(event)
    app = app_data(event.app, tenant=tenant)
    data["app"] = {k: app[k] for k in ("id", "name", "hostname", "url")}
    event_emit(type="app.process_crashed", tenant=tenant, data=data)
