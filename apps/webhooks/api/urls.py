"""/api/v1/ routes of outgoing webhooks."""

from django.urls import include, path

from config.routers import Router

from .views import WebhookEndpointViewSet, WebhookEventTypeViewSet

router = Router()
router.register("webhook-endpoints", WebhookEndpointViewSet, basename="webhook-endpoint")
router.register("webhook-event-types", WebhookEventTypeViewSet, basename="webhook-event-type")

urlpatterns = [path("", include(router.urls))]
