"""/api/v1/ routes of the accounts app (API keys, inbox)."""

from django.urls import include, path

from config.routers import Router

from .api_keys import ApiKeyViewSet
from .inbox import InboxViewSet

router = Router()
router.register("api-keys", ApiKeyViewSet, basename="api-key")
router.register("inbox", InboxViewSet, basename="inbox")

urlpatterns: list = [path("", include(router.urls))]
