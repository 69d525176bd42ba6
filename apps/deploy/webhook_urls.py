"""/webhooks/git/ routes (root host)."""

urlpatterns: list = []
