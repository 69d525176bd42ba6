"""Every tenant-scoped endpoint, of every app, answers a call on the root host without
X-Tenant-ID the same way: 404 `/problems/not-found` naming the header (`TenantRequired`,
apps/tenants/permissions.py). Until issue 12 billing, members, invitations and audit events
answered 400 `validation-error` there, while apps, monitors and API keys answered 404."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from apps.tenants.api.base import TenantScopedViewSet
from apps.tenants.permissions import TenantRequired

pytestmark = pytest.mark.django_db

MISSING = "00000000-0000-0000-0000-000000000000"

READS = [
    pytest.param("/api/v1/api-keys", id="accounts: api keys"),
    pytest.param("/api/v1/apps", id="deploy: apps"),
    pytest.param(f"/api/v1/apps/{MISSING}/releases", id="deploy: releases"),
    pytest.param(f"/api/v1/apps/{MISSING}/env-vars", id="deploy: env vars"),
    pytest.param("/api/v1/billing", id="billing: subscription"),
    pytest.param("/api/v1/billing/invoices", id="billing: invoices"),
    pytest.param("/api/v1/billing/credits", id="billing: credits"),
    pytest.param("/api/v1/monitors", id="monitoring: monitors"),
    pytest.param("/api/v1/incidents", id="monitoring: incidents"),
    pytest.param("/api/v1/alert-channels", id="monitoring: alert channels"),
    pytest.param("/api/v1/status-pages", id="monitoring: status pages"),
    pytest.param("/api/v1/webhook-endpoints", id="webhooks: endpoints"),
    pytest.param("/api/v1/members", id="tenants: members"),
    pytest.param("/api/v1/invitations", id="tenants: invitations"),
    pytest.param("/api/v1/audit-events", id="tenants: audit events"),
]
WRITES = [
    pytest.param("/api/v1/api-keys", id="accounts: api keys"),
    pytest.param("/api/v1/apps", id="deploy: apps"),
    pytest.param("/api/v1/billing/credits/usage", id="billing: credit usage"),
    pytest.param("/api/v1/monitors", id="monitoring: monitors"),
    pytest.param("/api/v1/invitations", id="tenants: invitations"),
]


def _assert_no_tenant_404(response) -> None:
    assert response.status_code == 404, response.content
    problem = response.json()
    assert problem["type"] == "/problems/not-found"
    assert "X-Tenant-ID" in problem["detail"]


@pytest.mark.parametrize("path", READS)
def test_a_read_without_a_tenant_is_404(client_for, world, path):
    _assert_no_tenant_404(client_for(world["alice"]).get(path))


@pytest.mark.parametrize("path", WRITES)
def test_a_write_without_a_tenant_is_404(client_for, world, path):
    _assert_no_tenant_404(client_for(world["alice"]).post(path, {}, format="json"))


def test_operators_too_get_404_without_a_tenant(client_for, world):
    _assert_no_tenant_404(client_for(world["operator"]).get("/api/v1/members"))


def _view_classes(patterns):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _view_classes(entry.url_patterns)
        elif isinstance(entry, URLPattern):
            cls = getattr(entry.callback, "cls", None)
            if cls is not None:
                yield cls


def test_every_tenant_scoped_viewset_keeps_the_tenant_check():
    """A subclass that sets its own permission_classes must not drop TenantRequired."""
    scoped = {cls for cls in _view_classes(get_resolver().url_patterns)}
    scoped = {cls for cls in scoped if issubclass(cls, TenantScopedViewSet)}
    assert {cls.__name__ for cls in scoped} >= {
        "ApiKeyViewSet",
        "AppViewSet",
        "MonitorViewSet",
        "MemberViewSet",
        "AuditEventViewSet",
    }
    for cls in scoped:
        assert TenantRequired in cls.permission_classes, cls
