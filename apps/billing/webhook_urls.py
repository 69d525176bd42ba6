"""/webhooks/stripe/ (root host)."""

urlpatterns: list = []
