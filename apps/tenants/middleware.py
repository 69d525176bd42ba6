"""Routes each request to a tenant schema, failing closed.

The tenant comes from the host (`<slug>.<BASE_DOMAIN>` or another Domain row) or, on a root host,
from the `X-Tenant-ID` header on `/api/`. An unknown tenant answers 404 problem details: never
the public schema, never a debug page."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import connection
from django.http.request import split_domain_port
from django.urls import set_urlconf
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import remove_www

from apps.core.problems import problem_response

from . import selectors

# Answer on any host, without a tenant: load balancers probe them by IP.
HOST_INDEPENDENT_PATHS = ("/healthz", "/readyz")


class TenantRoutingMiddleware(TenantMainMiddleware):
    @staticmethod
    def hostname_from_request(request) -> str:
        host, _port = split_domain_port(request.get_host())
        return remove_www(host)

    def process_request(self, request):
        connection.set_schema_to_public()
        # On public routes `request.tenant` stays unset, as django-tenants' templates expect.
        if request.path_info.rstrip("/") in HOST_INDEPENDENT_PATHS:
            return self._route_public(request)
        try:
            hostname = self.hostname_from_request(request)
        except DisallowedHost:
            return problem_response(
                request, status=400, slug="malformed-request", detail="This host is not served."
            )
        if hostname in settings.ROOT_HOSTS:
            ident = request.headers.get("X-Tenant-ID")
            if ident is None or not request.path_info.startswith("/api/"):
                return self._route_public(request)
            tenant = selectors.tenant_get_by_ident(ident)
        else:
            tenant = selectors.tenant_get_by_host(hostname)
        if tenant is None:
            return problem_response(request, status=404, slug="not-found", detail="No such tenant.")
        tenant.domain_url = hostname
        request.tenant = tenant
        connection.set_tenant(tenant)
        request.urlconf = settings.ROOT_URLCONF
        set_urlconf(request.urlconf)
        return None

    @staticmethod
    def _route_public(request):
        request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
        set_urlconf(request.urlconf)
        return None
