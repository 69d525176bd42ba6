"""/api/v1/ routes of the billing app."""

urlpatterns: list = []
