"""URLs of a tenant host (<slug>.BASE_DOMAIN) and of API calls routed by X-Tenant-ID."""

from django.urls import include, path

import apps.accounts.console  # noqa: F401  (registers API keys in the tenant console)
from apps.accounts.auth_urls import page_urlpatterns
from apps.core.views import healthz, readyz
from apps.tenants.console import console_site

handler404 = "apps.core.views.handler404"
handler500 = "apps.core.views.handler500"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("console/", console_site.urls),
    # Signing in happens on the tenant's own host too: sessions are per host.
    path("accounts/", include(page_urlpatterns)),
    path("", include("config.urls_api")),
]
