"""Operator-console scaffolding for models that live in tenant schemas (deploy's, monitoring's,
outgoing webhooks'): the console runs on the root host, so every view of such a model runs
inside the schema of a tenant the operator picks (`?tenant=<slug>`, remembered in the session):
`TenantScopedAdminMixin`. Pages are read-only (`ReadOnlyMixin`); actions call services."""

from __future__ import annotations

from django.db import connection
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django_tenants.utils import tenant_context

from .models import Tenant, TenantStatus
from .permissions import operator_entry_audit

SESSION_KEY = "deploy_admin_tenant"  # the name it had when only deploy used it


def current_tenant():
    """The Tenant of the schema in use (requests and tasks both set it on the connection)."""
    tenant = getattr(connection, "tenant", None)
    if tenant is not None and getattr(tenant, "slug", None):
        return tenant
    return Tenant.objects.get(schema_name=connection.schema_name)


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    # The admin's own change log keys content types of the public schema; these rows live in a
    # tenant's. Services write the audit log instead.
    def log_addition(self, *args, **kwargs):
        return None

    def log_change(self, *args, **kwargs):
        return None

    def log_deletion(self, *args, **kwargs):
        return None


class TenantScopedAdminMixin:
    """Runs every view of a tenant-schema model inside the schema of the tenant the operator
    picked; without one, shows the list of tenants to pick from."""

    def _tenant(self, request) -> Tenant | None:
        slug = request.session.get(SESSION_KEY)
        if not slug:
            return None
        return (
            Tenant.objects.filter(slug=slug)
            .exclude(status__in=[TenantStatus.DELETED, TenantStatus.PROVISIONING])
            .first()
        )

    def _scoped(self, request, view, *args, **kwargs):
        if "tenant" in request.GET:
            request.session[SESSION_KEY] = request.GET["tenant"]
            query = request.GET.copy()
            del query["tenant"]
            return HttpResponseRedirect(request.path + (f"?{query.urlencode()}" if query else ""))
        tenant = self._tenant(request)
        if tenant is None:
            return TemplateResponse(
                request,
                "admin/deploy/choose_tenant.html",
                {
                    **self.admin_site.each_context(request),
                    "title": f"{self.model._meta.verbose_name_plural.capitalize()}: pick a tenant",
                    "model_name": self.model._meta.verbose_name_plural,
                    "tenants": Tenant.objects.exclude(
                        status__in=[TenantStatus.DELETED, TenantStatus.PROVISIONING]
                    ).order_by("name"),
                },
            )
        operator_entry_audit(request.user, tenant)
        with tenant_context(tenant):
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not response.is_rendered:
                response.render()  # templates query lazily: render inside the schema
        return response

    def changelist_view(self, request, extra_context=None):
        tenant = self._tenant(request)
        extra_context = {
            **(extra_context or {}),
            "subtitle": f"Tenant: {tenant.name} (?tenant=<slug> to switch)" if tenant else "",
        }
        return self._scoped(request, super().changelist_view, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return self._scoped(request, super().change_view, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        return self._scoped(request, super().history_view, object_id, extra_context)
