"""Admin pages of models that live in tenant schemas (apps, deployments, monitors, ...), for every
app that has such models.

The operator console runs on the root host, in the public schema: `TenantScopedAdminMixin` runs
each view inside the schema of the tenant the operator picked (`?tenant=<slug>`, remembered in the
session), and lists the tenants to pick from until one is picked. The tenant console's requests
already run in the tenant's schema, so its model admins use the same `…AdminBase` classes without
the mixin (and with `apps.tenants.console.ConsoleAccess`)."""

from __future__ import annotations

from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django_tenants.utils import tenant_context

from .models import Tenant, TenantStatus
from .permissions import operator_entry_audit

# The session key keeps its first name (deploy's pages had the picker first): an operator's
# pick survives an upgrade.
SESSION_KEY = "deploy_admin_tenant"


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
                "admin/tenants/choose_tenant.html",
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
