"""/api/v1/ routes of the monitoring app."""

urlpatterns: list = []
