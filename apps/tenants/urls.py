"""Pages of the tenants app on the root host (invitation links)."""

urlpatterns: list = []
