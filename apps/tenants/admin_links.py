"""Everything of one tenant, linked from its page in the operator console.

The tenants app imports no domain app (ARCHITECTURE.md §3a), so the links are found, not listed:
every model the admin site shows is asked how it belongs to a tenant.
- a model in a tenant schema (apps, deployments, monitors, webhook endpoints…) whose admin runs
  in the picked tenant's schema (TenantScopedAdminMixin): its changelist with `?tenant=<slug>`;
- a public model with a `tenant` foreign key (API keys, invitations, domains, the billing account
  that holds the subscription): its changelist filtered on it;
- one with a plain `tenant_id` (audit events): filtered on it;
- one that reaches the tenant through another model (invoices and transactions through the
  billing account): filtered on that model's row of this tenant (one query per such model).
A link is shown only to an operator who may view that model. No counts: they would cost a query
per model and per schema on every visit."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import admin
from django.db import models
from django.urls import NoReverseMatch, reverse

from .admin_mixins import TenantScopedAdminMixin
from .models import Tenant


@dataclass(frozen=True)
class TenantLink:
    group: str  # "schema" (rows in the tenant's schema) or "account" (public schema)
    label: str
    url: str


def _changelist(model: type[models.Model], site: admin.AdminSite) -> str | None:
    try:
        return reverse(f"{site.name}:{model._meta.app_label}_{model._meta.model_name}_changelist")
    except NoReverseMatch:
        return None


def _tenant_lookup(model: type[models.Model], tenant: Tenant, cache: dict) -> str | None:
    """`field=value` that filters `model`'s changelist to this tenant's rows, or None."""
    for field in model._meta.fields:
        if field.is_relation and field.related_model is Tenant:
            return f"{field.name}__id__exact={tenant.pk}"
    for field in model._meta.fields:
        if field.name == "tenant_id" and not field.is_relation:
            return f"tenant_id={tenant.pk}"
    for field in model._meta.fields:
        through = field.related_model if field.is_relation else None
        if through is None or not any(
            f.is_relation and f.related_model is Tenant and f.name == "tenant"
            for f in through._meta.fields
        ):
            continue
        if through not in cache:
            rows = list(through._default_manager.filter(tenant=tenant).values_list("pk")[:2])
            cache[through] = rows[0][0] if len(rows) == 1 else None
        if cache[through] is not None:
            return f"{field.name}__id__exact={cache[through]}"
    return None


def tenant_links(tenant: Tenant, request, site: admin.AdminSite | None = None) -> list[TenantLink]:
    """The operator console's pages of this tenant's things, schema rows first."""
    site = site or admin.site
    links: list[TenantLink] = []
    cache: dict = {}
    for model, model_admin in site._registry.items():
        if model is Tenant or not model_admin.has_view_permission(request):
            continue
        url = _changelist(model, site)
        if url is None:
            continue
        label = str(model._meta.verbose_name_plural).capitalize()
        if isinstance(model_admin, TenantScopedAdminMixin):
            links.append(TenantLink("schema", label, f"{url}?tenant={tenant.slug}"))
            continue
        lookup = _tenant_lookup(model, tenant, cache)
        if lookup is not None:
            links.append(TenantLink("account", label, f"{url}?{lookup}"))
    return sorted(links, key=lambda link: (link.group != "schema", link.label))
