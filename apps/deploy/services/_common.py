"""Shared by the deploy services: the current
tenant, handing work to Celery (enqueue_deployment, enqueue_reconcile: tests replace them on the
package, so callers look them up there) and to the router, and queueing a deployment."""

from __future__ import annotations

import functools
import logging
import sys

from django.db import connection, transaction
from django.utils import timezone

from apps.core.actor import Actor
from apps.core.audit import audit_as
from apps.tenants.models import Tenant

from .. import events, selectors
from ..models import RUNNING_STATES, App, Deployment, DeploymentState, Release
from ..runtime import RuntimeProblem, get_provider

logger = logging.getLogger(__name__)


def current_tenant():
    """The Tenant of the schema in use (requests and tasks both set it on the connection)."""
    tenant = getattr(connection, "tenant", None)
    if tenant is not None and getattr(tenant, "slug", None):
        return tenant

    return Tenant.objects.get(schema_name=connection.schema_name)


def _package():
    """This package (apps.deploy.services), looked up when called: enqueue_deployment and
    enqueue_reconcile are replaced there by tests (tests/deploy/conftest.py), and pipeline.py and
    reconcile.py call them there too, so the services below reach them through it as well."""
    return sys.modules[__package__]


def enqueue_deployment(deployment_id) -> None:
    """Send the pipeline task (in the current schema). Tests replace this to run it inline.
    Runs after commit: a broker that is down must not turn the committed request into a 500;
    the deployment stays queued and the reaper (deployments_stuck_queued) sends it later."""
    from ..tasks import deployment_run

    try:
        deployment_run.delay(str(deployment_id))
    except Exception:
        logger.exception("Could not enqueue deployment %s; the reaper will", deployment_id)


def enqueue_reconcile(app_id) -> None:
    from ..tasks import app_reconcile_task

    try:
        app_reconcile_task.delay(str(app_id))
    except Exception:  # the periodic reconciler visits every app anyway
        logger.exception("Could not enqueue reconciling app %s", app_id)


def routes_sync_quietly() -> bool:
    """Push the host table to the router; a runtime that is down is not the caller's problem
    (the reconciler pushes it again)."""
    try:
        return get_provider().sync_routes(selectors.routes_desired())
    except RuntimeProblem as exc:
        logger.warning("Could not update the router: %s", exc.message)
        return False


def _deployment_queue(
    *,
    app: App,
    tenant,
    actor: Actor,
    kind: str,
    ref: str = "",
    release: Release | None = None,
    formation: dict[str, int] | None = None,
    cancel_running: bool = False,
    source: str = "api",
) -> Deployment:
    deployment = Deployment.objects.create(
        app=app,
        kind=kind,
        ref=ref,
        release=release,
        formation=formation or {},
        started_by_id=actor.user_id,
        started_by_label=actor.label,
    )
    if cancel_running:
        superseded = Deployment.objects.filter(app=app).exclude(pk=deployment.pk)
        for other in superseded.filter(state=DeploymentState.QUEUED):
            _cancel_queued(other)
        running = superseded.filter(state__in=RUNNING_STATES).exclude(
            state=DeploymentState.SWITCHING
        )
        running.update(cancel_requested=True)
    audit_as(
        actor,
        "deployment.created",
        tenant=tenant,
        target=deployment,
        app=app.name,
        kind=kind,
        ref=ref,
        source=source,
    )
    transaction.on_commit(functools.partial(_package().enqueue_deployment, deployment.pk))
    return deployment


def _cancel_queued(deployment: Deployment) -> None:
    now = timezone.now()
    deployment.state = DeploymentState.CANCELED
    deployment.finished_at = now
    deployment.failure_reason = "Canceled before it started."
    deployment.save(update_fields=["state", "finished_at", "failure_reason", "updated_at"])
    events.deployment_event("deployment.canceled", deployment)
