"""The /api/ routes, served on the root host and on tenant hosts alike."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from apps.accounts.auth_urls import api_urlpatterns as auth_api_urlpatterns
from apps.core.views import api_not_found

urlpatterns = [
    path("api/v1/auth/", include(auth_api_urlpatterns)),
    path("api/v1/", include("apps.tenants.api.urls")),
    path("api/v1/", include("apps.accounts.api.urls")),
    path("api/v1/", include("apps.deploy.api.urls")),
    path("api/v1/", include("apps.addons.api.urls")),
    path("api/v1/", include("apps.billing.api.urls")),
    path("api/v1/", include("apps.monitoring.api.urls")),
    path("api/v1/", include("apps.webhooks.api.urls")),
    path("api/v1/", include("apps.operations.portability.urls")),
    path("api/v1/", include("apps.core.api.urls")),
    path("api/v1/", include("apps.operations.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    re_path(r"^api/", api_not_found),
]
