"""/api/v1/ routes of the tenants app (tenants, members, invitations, operator tenants)."""

from django.urls import include, path, re_path

from config.routers import Router

from .invitations import InvitationAcceptView, InvitationViewSet
from .members import MemberViewSet
from .views import AdminTenantViewSet, TenantViewSet

router = Router()
router.register("tenants", TenantViewSet, basename="tenant")
router.register("members", MemberViewSet, basename="member")
router.register("invitations", InvitationViewSet, basename="invitation")
router.register("admin/tenants", AdminTenantViewSet, basename="admin-tenant")

urlpatterns = [
    re_path(r"^invitations/accept/?$", InvitationAcceptView.as_view(), name="invitation-accept"),
    path("", include(router.urls)),
]
