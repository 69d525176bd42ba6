"""/api/v1/ routes of add-on backups (included by apps/addons/api/urls.py)."""

from django.urls import include, path

from config.routers import Router

from .backup_views import BackupViewSet, RestoreViewSet

ADDON = r"apps/(?P<app_pk>[^/.]+)/addons/(?P<addon_pk>[^/.]+)"
router = Router()
router.register(rf"{ADDON}/backups", BackupViewSet, basename="app-addon-backup")
router.register(rf"{ADDON}/restores", RestoreViewSet, basename="app-addon-restore")

urlpatterns = [path("", include(router.urls))]
