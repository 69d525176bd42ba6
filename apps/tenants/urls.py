"""Pages of the tenants app on the root host (invitation links), included at `invitations/`."""

from django.urls import path

from .views import invitation_page

app_name = "tenants"

urlpatterns = [
    path("<str:token>", invitation_page, name="invitation"),
]
