"""The operator console (Django admin): suspend/resume actions and invitations call services."""

from __future__ import annotations

import pytest

from apps.core.models import AuditEvent
from apps.tenants.models import Invitation, Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def console(client, world):
    world["operator"].is_superuser = True
    world["operator"].save()
    client.force_login(world["operator"])
    return client


def test_suspend_and_resume_actions(console, world):
    alpha = world["tenant_a"]
    response = console.post(
        "/admin/tenants/tenant/",
        {"action": "suspend_selected", "_selected_action": [str(alpha.pk)]},
    )
    assert response.status_code == 302
    assert Tenant.objects.get(pk=alpha.pk).status == "suspended"
    assert AuditEvent.objects.get(action="tenant.suspended").actor_user_id == world["operator"].pk
    console.post(
        "/admin/tenants/tenant/",
        {"action": "resume_selected", "_selected_action": [str(alpha.pk)]},
    )
    assert Tenant.objects.get(pk=alpha.pk).status == "active"


def test_invitation_pages_render_and_revoke(console, world, invite):
    invitation, _ = invite(world["tenant_a"], "someone@example.com", by=world["alice"])
    assert console.get("/admin/tenants/invitation/").status_code == 200
    page = console.get(f"/admin/tenants/invitation/{invitation.pk}/change/")
    assert page.status_code == 200
    assert invitation.token_hash not in page.content.decode()
    console.post(
        "/admin/tenants/invitation/",
        {"action": "revoke_selected", "_selected_action": [str(invitation.pk)]},
    )
    assert Invitation.objects.get(pk=invitation.pk).status == "revoked"


def test_tenant_change_page_renders_with_the_new_fields(console, world):
    page = console.get(f"/admin/tenants/tenant/{world['tenant_a'].pk}/change/")
    assert page.status_code == 200
    assert "Entitlement overrides" in page.content.decode()
