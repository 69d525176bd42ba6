"""Celery tasks of the deploy app. Thin: they take ids and call the pipeline or reconciler, whose
bodies are idempotent (a task run twice, or killed half way, does no harm).

deploy.run runs in the tenant schema it was sent from (tenant-schemas-celery); the beat tasks
(deploy.reap, deploy.reconcile, deploy.logs_purge, deploy.runtime_report, deploy.stats_refresh,
deploy.sample_runtime) and deploy.reconcile_tenant run in the public schema and visit the
tenants themselves."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

from celery import shared_task
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.core.platform_config import config_get
from apps.tenants.models import Tenant

from . import pipeline, reconcile, runtime_health, selectors, stats, usage_history
from .models import DeploymentLog

# The pipeline bounds each step itself; these only stop a task that is stuck for good.
DEPLOY_SOFT_LIMIT_S = 3600
DEPLOY_HARD_LIMIT_S = DEPLOY_SOFT_LIMIT_S + 60


@shared_task(
    name="deploy.run",
    acks_late=True,
    soft_time_limit=DEPLOY_SOFT_LIMIT_S,
    time_limit=DEPLOY_HARD_LIMIT_S,
)
def deployment_run(deployment_id: str) -> str:
    return pipeline.deployment_execute(deployment_id)


@shared_task(name="deploy.reap")
def deployments_reap() -> dict:
    return reconcile.reap_all()


@shared_task(name="deploy.reconcile")
def runtime_reconcile() -> dict:
    return reconcile.reconcile_all()


@shared_task(name="deploy.reconcile_app")
def app_reconcile_task(app_id: str) -> list[str]:
    """One app, right after a change (stop), in the schema it was sent from."""
    from .services import routes_sync_quietly

    actions = reconcile.reconcile_app(app_id)
    routes_sync_quietly()
    return actions


@shared_task(name="deploy.reconcile_tenant")
def tenant_reconcile_task(tenant_id: str) -> dict:
    """Every app of one tenant, right after it was suspended or resumed (suspension.py)."""
    return reconcile.reconcile_tenant(tenant_id)


@shared_task(name="deploy.logs_purge")
def deployment_logs_purge() -> int:
    """Deployment logs and process exits older than deploy.log_retention_days, and usage
    samples older than 24 h (of apps the sampler no longer visits)."""
    retention = dt.timedelta(days=config_get("deploy.log_retention_days"))
    cutoff = timezone.now() - retention
    deleted = 0
    ids = [schema.tenant_id for schema in selectors.tenant_schemas()]
    for tenant in Tenant.objects.filter(pk__in=ids):
        with tenant_context(tenant):
            deleted += DeploymentLog.objects.filter(created_at__lt=cutoff).delete()[0]
    usage_history.history_prune(event_retention=retention)
    return deleted


@shared_task(name="deploy.sample_runtime", expires=55)
def runtime_sample() -> dict:
    """Process exits (OOM kills, crashes) and CPU/memory samples from the runtime."""
    return asdict(usage_history.sample_runtime())


@shared_task(name="deploy.runtime_report")
def runtime_report() -> dict:
    return runtime_health.runtime_report()


@shared_task(name="deploy.stats_refresh")
def stats_refresh() -> dict:
    return stats.platform_stats_refresh()
