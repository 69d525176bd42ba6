"""URLs of a tenant host (<slug>.BASE_DOMAIN) and of API calls routed by X-Tenant-ID."""

from django.urls import include, path

from apps.accounts import console as accounts_console
from apps.accounts.auth_urls import page_urlpatterns
from apps.addons import console as addons_console
from apps.billing import console as billing_console
from apps.core.views import healthz, readyz
from apps.deploy import console as deploy_console
from apps.monitoring import console as monitoring_console
from apps.operations.mcp_view import mcp_endpoint
from apps.operations.portability import console as portability_console
from apps.tenants.console import console_site
from apps.tenants.views import tenant_landing
from apps.webhooks import console as webhooks_console
from apps.webhooks.moved_urls import moved_urlpatterns

# Importing these registers their models in the tenant console (API keys; apps, deployments;
# monitors, incidents, alert channels, maintenance windows, silences, alert logs, status pages;
# outgoing webhook endpoints and messages)
# and its pages (billing: plan, usage, checkout, portal, invoices).
CONSOLE_SECTIONS = (
    accounts_console,
    addons_console,
    billing_console,
    deploy_console,
    monitoring_console,
    portability_console,
    webhooks_console,
)

handler404 = "apps.core.views.handler404"
handler500 = "apps.core.views.handler500"

urlpatterns = [
    path("", tenant_landing, name="tenant-landing"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    *moved_urlpatterns("console"),  # webhook pages were under console/monitoring/
    path("console/", console_site.urls),
    # Signing in happens on the tenant's own host too: sessions are per host.
    path("accounts/", include(page_urlpatterns)),
    path("mcp", mcp_endpoint, name="mcp"),  # agents: docs/agents.md
    path("", include("config.urls_api")),
]
