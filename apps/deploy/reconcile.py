"""The reaper and the reconciler: making the runtime match the database again after crashes.

- `reap_all` finds running deployments whose worker stopped writing heartbeats, in every tenant,
  and finishes or fails them (pipeline.deployment_reap); it re-sends queued deployments whose
  task message was lost.
- `reconcile_app` compares one app's desired state (its live deployment: release and formation;
  or "stopped", when the app was stopped or its tenant is suspended) with what the runtime
  reports, and repairs it: starts what is missing or dead, points traffic back at the live
  deployment, stops processes of any other deployment.
- `reconcile_tenant` does that for every app of one tenant at once (queued when the tenant is
  suspended or resumed: desired state is "stopped" while the tenant is not active) and pushes
  the router's host table.
- `reconcile_all` does that for every app of every tenant, removes the runtime's leftovers of apps
  that no longer exist, and pushes the router's host table (which also re-pushes it after a
  Caddy restart)."""

from __future__ import annotations

import datetime as dt
import functools
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.tenants.models import Tenant, TenantStatus

from . import pipeline, selectors, services
from .models import App, AppStatus, Deployment
from .runtime import RuntimeProblem, get_provider

logger = logging.getLogger(__name__)


def _tenants(ids) -> dict:
    return {t.pk: t for t in Tenant.objects.filter(pk__in=set(ids))}


def reap_all(*, stale_after_s: float | None = None) -> dict[str, int]:
    stale_after_s = settings.DEPLOY_STALE_AFTER_S if stale_after_s is None else stale_after_s
    stale = selectors.deployments_stale(stale_after_s=stale_after_s)
    stuck = selectors.deployments_stuck_queued(older_than_s=max(stale_after_s, 30))
    tenants = _tenants(schema.tenant_id for schema, _ in stale + stuck)
    outcome = {"reaped": 0, "requeued": 0}
    for schema, deployment_id in stale:
        with tenant_context(tenants[schema.tenant_id]):
            try:
                pipeline.deployment_reap(deployment_id)
                outcome["reaped"] += 1
            except Exception:
                logger.exception("Reaping deployment %s failed", deployment_id)
    for schema, deployment_id in stuck:
        with tenant_context(tenants[schema.tenant_id]):
            services.enqueue_deployment(deployment_id)
            outcome["requeued"] += 1
    return outcome


def reconcile_app(app_id, *, provider=None, stale_after_s: float | None = None) -> list[str]:
    """Repair one app (in the current tenant's schema); what was done, for logs and tests."""
    provider = provider or get_provider()
    stale_after_s = settings.DEPLOY_STALE_AFTER_S if stale_after_s is None else stale_after_s
    actions: list[str] = []
    with transaction.atomic():
        app = App.objects.select_for_update().filter(pk=app_id).first()
        if app is None:
            return actions
        if app.active_deployment_id is not None:
            active = Deployment.objects.filter(pk=app.active_deployment_id).first()
            fresh = timezone.now() - dt.timedelta(seconds=stale_after_s)
            if active is not None and not active.is_final:
                if (active.heartbeat_at or active.created_at) >= fresh:
                    return ["a deployment is running"]
                actions.append("left a stale deployment to the reaper")
                return actions
            # Its worker died after it ended but before it let go of the app.
            App.objects.filter(pk=app.pk).update(active_deployment=None)
            transaction.on_commit(functools.partial(pipeline.start_next, app.pk))
            actions.append("freed the app from a deployment that had ended")
        live = (
            Deployment.objects.select_related("release__build", "app")
            .filter(pk=app.live_deployment_id)
            .first()
        )
        # Desired: the live deployment, unless the app was stopped or its tenant is not active
        # (suspended). Read after the app's lock, so a reconcile queued by a resume sees it.
        wanted = None
        if live is not None and app.status != AppStatus.STOPPED and selectors.apps_may_run():
            wanted = pipeline.deployment_key(live)
        app_key = app.pk.hex
        for key_app, key in sorted(provider.program_keys()):
            if key_app == app_key and key != wanted:
                provider.stop(app_key, key)
                actions.append(f"stopped deployment {key}")
        if wanted is None:
            return actions
        spec = pipeline.spec_for(live)
        if not provider.artefact_present(spec.artefact):
            logger.error("App %s: the live build's files are gone; deploy it again.", app_id)
            return [*actions, "the live build's files are gone: deploy again"]
        actions.extend(provider.ensure_running(spec))
        if provider.routed_to(app_key) != wanted:
            provider.route(spec)
            actions.append(f"routed traffic back to deployment {wanted}")
    return actions


def reconcile_tenant(tenant_id) -> dict:
    """Every app of one tenant, then the router's host table: what a suspension or a resume
    needs at once (the periodic reconcile_all would get there too, later)."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None or tenant.status in (TenantStatus.DELETED, TenantStatus.PROVISIONING):
        return {}  # a deleted tenant's leftovers are reconcile_all's orphans
    provider = get_provider()
    try:
        provider.ensure_ready(wait_s=0)
    except RuntimeProblem as exc:
        logger.warning("Reconcile of tenant %s skipped: %s", tenant.slug, exc.message)
        return {"skipped": exc.message}
    report: dict = {"apps": {}}
    with tenant_context(tenant):
        app_ids = list(
            App.objects.filter(
                Q(live_deployment__isnull=False) | Q(active_deployment__isnull=False)
            ).values_list("pk", flat=True)
        )
        for app_id in app_ids:
            try:
                actions = reconcile_app(app_id, provider=provider)
            except Exception:
                logger.exception("Reconciling app %s failed", app_id)
                continue
            if actions:
                report["apps"][str(app_id)] = actions
                logger.info("Reconciled app %s: %s", app_id, "; ".join(actions))
    report["router_changed"] = services.routes_sync_quietly()
    return report


def reconcile_all(*, stale_after_s: float | None = None) -> dict:
    provider = get_provider()
    try:
        provider.ensure_ready(wait_s=0)
    except RuntimeProblem as exc:
        logger.warning("Reconcile skipped: %s", exc.message)
        return {"skipped": exc.message}
    report: dict = {"reap": reap_all(stale_after_s=stale_after_s), "apps": {}}
    targets = selectors.apps_to_reconcile()
    tenants = _tenants(schema.tenant_id for schema, _ in targets)
    for schema, app_id in targets:
        with tenant_context(tenants[schema.tenant_id]):
            try:
                actions = reconcile_app(app_id, provider=provider, stale_after_s=stale_after_s)
            except Exception:
                logger.exception("Reconciling app %s failed", app_id)
                continue
        if actions:
            report["apps"][str(app_id)] = actions
            logger.info("Reconciled app %s: %s", app_id, "; ".join(actions))
    known = selectors.app_keys_known()
    orphans = {app_key for app_key, _ in provider.program_keys()} - known
    for app_key in sorted(orphans):
        provider.remove_app(app_key)
    report["orphans_removed"] = sorted(orphans)
    report["router_changed"] = provider.sync_routes(selectors.routes_desired())
    return report
