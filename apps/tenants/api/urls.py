"""/api/v1/ routes of the tenants app (tenants, members, invitations)."""

from django.urls import include, path

from config.routers import Router

from .views import TenantViewSet

router = Router()
router.register("tenants", TenantViewSet, basename="tenant")

urlpatterns = [path("", include(router.urls))]
