"""Public pages of the monitoring app on the root host (status pages, heartbeat pings)."""

from django.urls import path

from . import status_views, views

urlpatterns = [
    path("ping/<uuid:token>", views.ping, name="monitoring-ping"),
    path("ping/<uuid:token>/", views.ping),
    path("ping/<uuid:token>/start", views.ping, {"event": "start"}, name="monitoring-ping-start"),
    path("ping/<uuid:token>/fail", views.ping, {"event": "fail"}, name="monitoring-ping-fail"),
    path("status/<slug:slug>/", status_views.status_page, name="status-page"),
    path("status/<slug:slug>/json", status_views.status_page_json, name="status-page-json"),
]
