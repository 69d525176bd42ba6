"""/api/v1/ routes of the monitoring app."""

from django.urls import include, path

from config.routers import Router

from .views import IncidentViewSet, MonitorViewSet

router = Router()
router.register("monitors", MonitorViewSet, basename="monitor")
router.register("incidents", IncidentViewSet, basename="incident")

urlpatterns = [path("", include(router.urls))]
