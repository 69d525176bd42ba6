"""The operator console's pages of tenant-schema models (apps, deployments, monitors, …).

The operator console runs on the root host, in the public schema, while these rows live in the
tenants' schemas: `TenantScopedAdminMixin` runs every view of such a model inside the schema of
the tenant the operator picks (`?tenant=<slug>`, remembered in the session for every such page),
and audits the operator's entry. The model admins it is mixed into know nothing of that, so the
tenant console (console_mixins.py), whose request already runs in the tenant's schema, reuses
them as they are."""

from __future__ import annotations

from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django_tenants.utils import tenant_context

from .models import Tenant, TenantStatus
from .permissions import operator_entry_audit

# The session key keeps the name it had in apps/deploy/admin.py, so operators keep their pick.
SESSION_KEY = "deploy_admin_tenant"


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
