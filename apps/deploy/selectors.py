"""Reads of the deploy app.

Tenant-scoped reads run in the current tenant's schema (the request or task picked it). The
cross-tenant reads at the bottom (which tenant owns an app id, the host table for the router,
deployments whose worker died) query every tenant schema at once with one `UNION ALL` statement
per 200 schemas, so they cost a handful of queries at any number of tenants and need no copy of
tenant data in the public schema."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Max, QuerySet
from django.utils import timezone

from apps.tenants.models import Tenant, TenantStatus
from apps.tenants.selectors import tenant_limit

from .models import (
    RUNNING_STATES,
    App,
    AppDomain,
    Deployment,
    DeploymentLog,
    DeploymentState,
    DomainStatus,
    EnvVar,
    Formation,
    Release,
)
from .runtime.base import ResourceLimits, Route, route_kind

SCHEMAS_PER_QUERY = 200


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


# --- Inside one tenant --------------------------------------------------------------------
def apps_list(*, filters: dict[str, Any] | None = None) -> QuerySet[App]:
    filters = filters or {}
    apps = App.objects.select_related("current_release", "live_deployment")
    if filters.get("status"):
        apps = apps.filter(status=filters["status"])
    if filters.get("name"):
        apps = apps.filter(name__icontains=filters["name"])
    return apps


def app_get(app_id) -> App | None:
    pk = _uuid(app_id)
    return apps_list().filter(pk=pk).first() if pk else None


def deployments_list(*, app: App, filters: dict[str, Any] | None = None) -> QuerySet[Deployment]:
    filters = filters or {}
    deployments = Deployment.objects.filter(app=app).select_related("release")
    if filters.get("state"):
        deployments = deployments.filter(state=filters["state"])
    return deployments


def deployment_get(*, app: App, deployment_id) -> Deployment | None:
    pk = _uuid(deployment_id)
    return deployments_list(app=app).filter(pk=pk).first() if pk else None


def deployment_logs(*, deployment: Deployment, after: int = 0, limit: int = 1000):
    return list(
        DeploymentLog.objects.filter(deployment=deployment, id__gt=after).order_by("id")[:limit]
    )


def releases_list(*, app: App) -> QuerySet[Release]:
    return Release.objects.filter(app=app).select_related("build")


def release_get(*, app: App, release_id) -> Release | None:
    pk = _uuid(release_id)
    return releases_list(app=app).filter(pk=pk).first() if pk else None


def release_next_version(*, app: App) -> int:
    return (Release.objects.filter(app=app).aggregate(v=Max("version"))["v"] or 0) + 1


def env_vars_list(*, app: App) -> QuerySet[EnvVar]:
    return EnvVar.objects.filter(app=app).defer("value_encrypted")


def domains_list(*, app: App) -> QuerySet[AppDomain]:
    return AppDomain.objects.filter(app=app)


def domain_get(*, app: App, domain_id) -> AppDomain | None:
    pk = _uuid(domain_id)
    return domains_list(app=app).filter(pk=pk).first() if pk else None


def formation_get(*, app: App) -> dict[str, int]:
    return dict(Formation.objects.filter(app=app).values_list("process_type", "count"))


def process_count_for_tenant(*, exclude_app: App | None = None) -> int:
    """Processes the tenant's apps run (their formations), for the `processes` limit."""
    rows = Formation.objects.all()
    if exclude_app is not None:
        rows = rows.exclude(app=exclude_app)
    return sum(rows.values_list("count", flat=True))


def app_count_for_tenant() -> int:
    """The tenant's apps (this schema holds only its own), for the `apps` limit."""
    return App.objects.count()


def custom_domain_count_for_tenant() -> int:
    """The tenant's custom domains, for the `custom_domains` limit: pending claims count as
    well as verified ones, so that verifying a claim never needs a free place (and a tenant
    cannot hold more claims than its plan sells)."""
    return AppDomain.objects.count()


def tenant_status() -> str | None:
    """The current tenant's status, read from its row now (not the tenant object a request or
    task carries, which may be older), so deploy keeps no copy of it."""
    return (
        Tenant.objects.filter(schema_name=connection.schema_name)
        .values_list("status", flat=True)
        .first()
    )


def apps_may_run() -> bool:
    """May the current tenant's apps run? Only while the tenant is active: a suspended tenant's
    apps are stopped and unrouted, and come back (those whose status is still `running`) when it
    is resumed."""
    return tenant_status() == TenantStatus.ACTIVE


def app_hostname(*, app: App, tenant_slug: str) -> str:
    return f"{app.name}-{tenant_slug}.{settings.APPS_DOMAIN}"


# --- Across tenants -----------------------------------------------------------------------
@dataclass(frozen=True)
class TenantSchema:
    schema_name: str
    slug: str
    tenant_id: uuid.UUID
    status: str = TenantStatus.ACTIVE


def tenant_schemas() -> list[TenantSchema]:
    """Schemas of tenants whose apps the runtime knows (not deleted, not half-made); a suspended
    tenant's are here too: the reconciler stops them and the router answers 503 for them."""
    rows = (
        Tenant.objects.exclude(status__in=[TenantStatus.DELETED, TenantStatus.PROVISIONING])
        .exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
        .values_list("schema_name", "slug", "id", "status")
        .order_by("schema_name")
    )
    return [TenantSchema(*row) for row in rows]


def _union(select: str, params: list, schemas: list[TenantSchema]) -> Iterator[tuple]:
    """Run `select` (with `{schema}` for the quoted schema name and `%(schema)s` for its name as
    a literal) over every schema, SCHEMAS_PER_QUERY at a time."""
    for start in range(0, len(schemas), SCHEMAS_PER_QUERY):
        batch = schemas[start : start + SCHEMAS_PER_QUERY]
        parts, values = [], []
        for item in batch:
            quoted = connection.ops.quote_name(item.schema_name)
            parts.append("(" + select.replace("{schema}", quoted) + ")")
            values.extend([item.schema_name, *params])
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), values)
            yield from cursor.fetchall()


def app_locate(app_id) -> TenantSchema | None:
    """The tenant whose schema holds this app (webhooks know only the app id)."""
    pk = _uuid(app_id)
    if pk is None:
        return None
    schemas = tenant_schemas()
    by_name = {s.schema_name: s for s in schemas}
    for (schema_name,) in _union("SELECT %s FROM {schema}.deploy_app WHERE id = %s", [pk], schemas):
        return by_name[schema_name]
    return None


def hostname_taken(hostname: str, *, exclude_app_id=None) -> bool:
    """Is `hostname` some app's default hostname or verified custom domain, in any tenant? A
    pending domain takes nothing: several tenants may claim a hostname, the first to verify it
    gets it (services.domain_verify)."""
    hostname = hostname.lower()
    schemas = tenant_schemas()
    suffix = "." + settings.APPS_DOMAIN
    if hostname.endswith(suffix):
        label = hostname[: -len(suffix)]
        for schema in schemas:
            if label.endswith("-" + schema.slug):
                name = label[: -len(schema.slug) - 1]
                rows = _union(
                    "SELECT %s, id FROM {schema}.deploy_app WHERE name = %s", [name], [schema]
                )
                if any(str(row[1]) != str(exclude_app_id) for row in rows):
                    return True
    for _schema, app_id in _union(
        "SELECT %s, app_id FROM {schema}.deploy_appdomain WHERE hostname = %s AND status = %s",
        [hostname, DomainStatus.VERIFIED.value],
        schemas,
    ):
        if str(app_id) != str(exclude_app_id):
            return True
    return False


@dataclass(frozen=True)
class DomainClaim:
    schema: TenantSchema
    domain_id: Any
    app_id: uuid.UUID
    app_name: str
    status: str


def domain_claims(hostname: str) -> list[DomainClaim]:
    """Every tenant's row for the custom domain `hostname`, pending or verified."""
    schemas = tenant_schemas()
    by_name = {s.schema_name: s for s in schemas}
    rows = _union(
        "SELECT %s, d.id, d.app_id, a.name, d.status FROM {schema}.deploy_appdomain d "
        "JOIN {schema}.deploy_app a ON a.id = d.app_id WHERE d.hostname = %s",
        [hostname.lower()],
        schemas,
    )
    return [DomainClaim(by_name[row[0]], *row[1:]) for row in rows]


def _json(value):
    """jsonb from a raw query: Django's psycopg setup hands it over as text."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def routes_desired() -> list[Route]:
    """The router's host table: every app with a live deployment, across tenants, oldest app
    first (so a hostname two apps claim goes to the older one). Stopped apps, and every app of
    a suspended tenant, keep their hosts (answered 503) but no upstream."""
    schemas = tenant_schemas()
    slugs = {s.schema_name: s.slug for s in schemas}
    suspended = {s.schema_name for s in schemas if s.status != TenantStatus.ACTIVE}
    select = """
        SELECT %s, a.id, a.name, a.status, a.created_at, d.formation, b.kind, r.process_types,
               ARRAY(SELECT x.hostname FROM {schema}.deploy_appdomain x
                     WHERE x.app_id = a.id AND x.status = 'verified' ORDER BY x.verified_at)
        FROM {schema}.deploy_app a
        JOIN {schema}.deploy_deployment d ON d.id = a.live_deployment_id
        JOIN {schema}.deploy_release r ON r.id = d.release_id
        LEFT JOIN {schema}.deploy_build b ON b.id = r.build_id
    """
    rows = sorted(_union(select, [], schemas), key=lambda row: (row[4], str(row[1])))
    routes = []
    for schema, app_id, name, status, _created, formation, kind, process_types, domains in rows:
        formation, process_types = _json(formation), _json(process_types)
        hosts = (f"{name}-{slugs[schema]}.{settings.APPS_DOMAIN}".lower(), *domains)
        if schema in suspended:
            routes.append(Route(app_key=app_id.hex, hosts=hosts, kind="suspended"))
            continue
        if status == "stopped":
            routes.append(Route(app_key=app_id.hex, hosts=hosts, kind="stopped"))
            continue
        web = (formation or {}).get("web", 0) if "web" in (process_types or {}) else 0
        routes.append(Route(app_key=app_id.hex, hosts=hosts, kind=route_kind(kind), web_count=web))
    return routes


def deployments_stale(*, stale_after_s: float) -> list[tuple[TenantSchema, uuid.UUID]]:
    """Running deployments whose worker has not written a heartbeat for `stale_after_s`."""
    schemas = tenant_schemas()
    by_name = {s.schema_name: s for s in schemas}
    cutoff = timezone.now() - dt.timedelta(seconds=stale_after_s)
    states = [str(s) for s in RUNNING_STATES]
    rows = _union(
        "SELECT %s, id FROM {schema}.deploy_deployment "
        "WHERE state = ANY(%s) AND COALESCE(heartbeat_at, created_at) < %s",
        [states, cutoff],
        schemas,
    )
    return [(by_name[schema], pk) for schema, pk in rows]


def deployments_stuck_queued(*, older_than_s: float) -> list[tuple[TenantSchema, uuid.UUID]]:
    """Queued deployments of apps with a free slot: their task message was lost."""
    schemas = tenant_schemas()
    by_name = {s.schema_name: s for s in schemas}
    cutoff = timezone.now() - dt.timedelta(seconds=older_than_s)
    rows = _union(
        "SELECT %s, d.id FROM {schema}.deploy_deployment d "
        "JOIN {schema}.deploy_app a ON a.id = d.app_id "
        "WHERE d.state = %s AND d.created_at < %s AND a.active_deployment_id IS NULL",
        [str(DeploymentState.QUEUED), cutoff],
        schemas,
    )
    return [(by_name[schema], pk) for schema, pk in rows]


def apps_to_reconcile() -> list[tuple[TenantSchema, uuid.UUID]]:
    """Apps that have something running, or hold a deployment slot."""
    schemas = tenant_schemas()
    by_name = {s.schema_name: s for s in schemas}
    rows = _union(
        "SELECT %s, id FROM {schema}.deploy_app "
        "WHERE live_deployment_id IS NOT NULL OR active_deployment_id IS NOT NULL",
        [],
        schemas,
    )
    return [(by_name[schema], pk) for schema, pk in rows]


def app_keys_known() -> set[str]:
    """Runtime keys of every app in every tenant (anything else in the runtime is an orphan)."""
    rows = _union("SELECT %s, id FROM {schema}.deploy_app", [], tenant_schemas())
    return {pk.hex for _schema, pk in rows}


def resource_limits(*, tenant: Tenant) -> ResourceLimits:
    """What each of the tenant's apps may use in its sandbox: the plan's (or an operator's)
    memory_mb, cpu_millicores, pids and disk_mb, the operator's defaults where none is set."""

    def value(name: str, default: int) -> int:
        limit = tenant_limit(tenant, name)
        return default if limit is None else max(1, int(limit))

    return ResourceLimits(
        memory_mb=value("memory_mb", settings.DEPLOY_SANDBOX_DEFAULT_MEMORY_MB),
        cpu_millicores=value("cpu_millicores", settings.DEPLOY_SANDBOX_DEFAULT_CPU_MILLICORES),
        pids=value("pids", settings.DEPLOY_SANDBOX_DEFAULT_PIDS),
        disk_mb=value("disk_mb", settings.DEPLOY_SANDBOX_DEFAULT_DISK_MB),
        apps=tenant_limit(tenant, "apps"),
        processes=tenant_limit(tenant, "processes"),
    )


# --- HTTPS: which names may have a certificate (apps/deploy/tls_ask.py) --------------------
def app_hostname_exists(label: str) -> bool:
    """Is `label` (the first label of `<app>-<tenant>.<APPS_DOMAIN>`) an app of a tenant whose
    apps are routed (not deleted)? One query for the tenants whose slug ends the label (a slug
    may hold hyphens: every split is tried), one per such tenant for the app."""
    candidates = {label[i + 1 :]: label[:i] for i, char in enumerate(label) if char == "-"}
    candidates = {slug: name for slug, name in candidates.items() if slug and name}
    if not candidates:
        return False
    tenants = (
        Tenant.objects.filter(slug__in=list(candidates))
        .exclude(status__in=[TenantStatus.DELETED, TenantStatus.PROVISIONING])
        .exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
        .values_list("schema_name", "slug")
    )
    for schema_name, slug in tenants:
        schema = [TenantSchema(schema_name, slug, uuid.UUID(int=0))]
        if list(
            _union("SELECT %s FROM {schema}.deploy_app WHERE name = %s", [candidates[slug]], schema)
        ):
            return True
    return False


def verified_domain_hostnames() -> set[str]:
    """Every verified custom domain of every tenant whose apps are routed."""
    rows = _union(
        "SELECT %s, hostname FROM {schema}.deploy_appdomain WHERE status = %s",
        [DomainStatus.VERIFIED.value],
        tenant_schemas(),
    )
    return {hostname for _schema, hostname in rows}
