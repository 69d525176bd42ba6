"""/api/v1/ routes of the add-ons app."""

from django.urls import include, path

from config.routers import Router

from .views import AddonViewSet

router = Router()
router.register(r"apps/(?P<app_pk>[^/.]+)/addons", AddonViewSet, basename="app-addon")

urlpatterns = [path("", include(router.urls))]
