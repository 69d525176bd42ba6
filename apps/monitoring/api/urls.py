"""/api/v1/ routes of the monitoring app."""

from django.urls import include, path

from config.routers import Router

from .alerting import (
    AlertChannelViewSet,
    AlertLogViewSet,
    MaintenanceWindowViewSet,
    SilenceViewSet,
)
from .status_page_views import StatusPageViewSet
from .views import IncidentViewSet, MonitorViewSet

router = Router()
router.register("monitors", MonitorViewSet, basename="monitor")
router.register("incidents", IncidentViewSet, basename="incident")
router.register("alert-channels", AlertChannelViewSet, basename="alert-channel")
router.register("alert-logs", AlertLogViewSet, basename="alert-log")
router.register("maintenance-windows", MaintenanceWindowViewSet, basename="maintenance-window")
router.register("silences", SilenceViewSet, basename="silence")
router.register("status-pages", StatusPageViewSet, basename="status-page")

urlpatterns = [path("", include(router.urls))]
