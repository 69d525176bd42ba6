"""/api/v1/ routes of the accounts app (API keys, inbox)."""

from rest_framework.routers import SimpleRouter

router = SimpleRouter()
urlpatterns: list = []
