"""/api/v1/operations routes."""

from django.urls import re_path

from .views import OperationViewSet

NAME = r"(?P<name>[a-z0-9_.-]{1,100})"

urlpatterns = [
    re_path(r"^operations/?$", OperationViewSet.as_view({"get": "list"}), name="operation-list"),
    re_path(
        rf"^operations/{NAME}/?$",
        OperationViewSet.as_view({"get": "retrieve"}),
        name="operation-detail",
    ),
    re_path(
        rf"^operations/{NAME}/execute/?$",
        OperationViewSet.as_view({"post": "execute"}),
        name="operation-execute",
    ),
]
