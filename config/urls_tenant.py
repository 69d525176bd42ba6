"""URLs of a tenant host (<slug>.BASE_DOMAIN) and of API calls routed by X-Tenant-ID."""

from django.urls import include, path

from apps.core.views import healthz, readyz

handler404 = "apps.core.views.handler404"
handler500 = "apps.core.views.handler500"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("", include("config.urls_api")),
]
