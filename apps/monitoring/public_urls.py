"""Public pages of the monitoring app on the root host (status pages, heartbeat pings)."""

urlpatterns: list = []
