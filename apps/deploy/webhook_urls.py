"""/webhooks/git/ routes (root host)."""

from django.urls import path

from .git_push import git_webhook

urlpatterns: list = [
    path("git/<uuid:app_id>/", git_webhook, name="git-webhook"),
    path("git/<uuid:app_id>", git_webhook),
]
