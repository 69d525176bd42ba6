"""/api/v1/ routes of the deploy app."""

urlpatterns: list = []
