"""/api/v1/ routes of the tenants app (tenants, members, invitations, audit events, and the
operators' tenants and audit events)."""

from django.urls import include, path, re_path

from config.routers import Router

from .audit import AdminAuditEventViewSet, AuditEventViewSet
from .invitations import InvitationAcceptView, InvitationViewSet
from .members import MemberViewSet
from .views import AdminTenantViewSet, TenantViewSet

router = Router()
router.register("tenants", TenantViewSet, basename="tenant")
router.register("members", MemberViewSet, basename="member")
router.register("invitations", InvitationViewSet, basename="invitation")
router.register("admin/tenants", AdminTenantViewSet, basename="admin-tenant")
router.register("audit-events", AuditEventViewSet, basename="audit-event")
router.register("admin/audit-events", AdminAuditEventViewSet, basename="admin-audit-event")

urlpatterns = [
    re_path(r"^invitations/accept/?$", InvitationAcceptView.as_view(), name="invitation-accept"),
    path("", include(router.urls)),
]
