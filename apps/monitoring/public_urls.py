"""Public pages of the monitoring app on the root host (status pages, heartbeat pings)."""

from django.urls import path

from . import views

urlpatterns = [
    path("ping/<uuid:token>", views.ping, name="monitoring-ping"),
    path("ping/<uuid:token>/", views.ping),
    path("ping/<uuid:token>/start", views.ping, {"event": "start"}, name="monitoring-ping-start"),
    path("ping/<uuid:token>/fail", views.ping, {"event": "fail"}, name="monitoring-ping-fail"),
]
