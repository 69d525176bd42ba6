"""Every deployed app gets an HTTP monitor on its web URL (issue 7: "An app from the deploy
issue gets a monitor on its web URL automatically").

An outbox consumer (settings.OUTBOX_CONSUMERS), so deploy never imports monitoring: on
`deployment.succeeded` the app's monitor is created (or its URL kept current), on `app.deleted`
it goes. Runs inside the outbox dispatch transaction, in each tenant's schema."""

from __future__ import annotations

from apps.core.models import OutboxEvent
from apps.deploy.selectors import app_get
from apps.tenants.events import events_in_each_tenant

from . import services

HANDLED = ("deployment.succeeded", "app.deleted")


def _health_url(app: dict) -> str:
    base = (app.get("url") or "").rstrip("/")
    path = app.get("health_check_path") or "/"
    return base + (path if path.startswith("/") else "/" + path) if base else ""


def outbox_consume(events: list[OutboxEvent]) -> None:
    for tenant, handled in events_in_each_tenant(events, HANDLED):
        for event in handled:
            if event.type == "app.deleted":
                services.app_monitor_remove(tenant=tenant, app_id=event.data["id"])
                continue
            app = event.data.get("app")
            url = _health_url(app) if isinstance(app, dict) and app.get("id") else ""
            # Events go in id order, not commit order: a deployment that committed after its
            # app was deleted must not bring the app's monitor back.
            if url and app_get(app["id"]) is not None:
                services.app_monitor_ensure(
                    tenant=tenant, app_id=app["id"], name=f"{app['name']} (app)", url=url
                )
