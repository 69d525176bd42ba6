"""Tenant access for the API: every request routed to a tenant must come from one of its members
(or an operator, whose entry is audited). Anyone else gets 404, as if the tenant did not exist."""

from django.core.cache import cache
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission

from apps.core.audit import audit_record

from .models import Membership

OPERATOR_ENTRY_AUDIT_EVERY_S = 3600


class TenantMember(BasePermission):
    def has_permission(self, request, view) -> bool:
        tenant = getattr(request._request, "tenant", None)
        if tenant is None:  # a public-schema route
            return True
        user = request.user
        if user is not None and user.is_authenticated:
            membership = Membership.objects.filter(tenant=tenant, user=user).first()
            if membership is not None:
                request.membership = membership
                return True
            if user.is_staff:
                request.membership = None
                _audit_operator_entry(user, tenant)
                return True
        raise NotFound("No such tenant.")


def _audit_operator_entry(user, tenant) -> None:
    if cache.add(f"operator-entry:{user.pk}:{tenant.pk}", 1, timeout=OPERATOR_ENTRY_AUDIT_EVERY_S):
        audit_record(
            action="tenant.operator_entered", actor=user, tenant=tenant, severity="warning"
        )
