"""URLs of the root host (public schema): operator admin, API, docs, health."""

from django.contrib import admin
from django.urls import include, path

from apps.accounts import device_login
from apps.accounts.auth_urls import page_urlpatterns
from apps.core.views import healthz, metrics, readyz
from apps.deploy.tls_ask import tls_ask
from apps.operations.mcp_view import mcp_endpoint
from apps.tenants.views import root_landing
from apps.webhooks.moved_urls import moved_urlpatterns

handler404 = "apps.core.views.handler404"
handler500 = "apps.core.views.handler500"

urlpatterns = [
    path("", root_landing, name="root-landing"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("internal/tls/ask", tls_ask, name="tls-ask"),  # Caddy only (apps/deploy/tls_ask.py)
    *moved_urlpatterns("admin"),  # webhook pages were under admin/monitoring/
    path("admin/", admin.site.urls),
    path("accounts/", include(page_urlpatterns)),
    # OAuth 2.0 device login for the quay CLI (allauth.idp.oidc): /identity/o/…, /.well-known/…
    path("", include(device_login.urlpatterns)),
    path("invitations/", include("apps.tenants.urls")),
    path("webhooks/", include("apps.deploy.webhook_urls")),
    path("webhooks/", include("apps.billing.webhook_urls")),
    path("", include("apps.monitoring.public_urls")),
    path("mcp", mcp_endpoint, name="mcp"),  # agents: docs/agents.md
    path("", include("config.urls_api")),
]
