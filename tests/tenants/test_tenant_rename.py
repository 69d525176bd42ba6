"""Renaming a tenant: owners and admins, audited, refused while suspended."""

from __future__ import annotations

import pytest

from apps.core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_owner_or_admin_renames(client_for, team, who):
    response = client_for(getattr(team, who)).patch(
        "/api/v1/tenants/alpha", {"name": " Alpha Ltd "}
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Alpha Ltd"
    team.alpha.refresh_from_db()
    assert team.alpha.name == "Alpha Ltd"
    event = AuditEvent.objects.get(action="tenant.renamed")
    assert event.metadata == {"from": "Alpha", "to": "Alpha Ltd"}
    assert event.actor_user_id == getattr(team, who).pk


def test_rename_by_id_within_a_tenant_context_too(client_for, team):
    client = client_for(team.admin, team.alpha)
    response = client.patch(f"/api/v1/tenants/{team.alpha.pk}", {"name": "Renamed"})
    assert response.status_code == 200


def test_a_too_long_name_is_refused(client_for, team):
    response = client_for(team.owner).patch("/api/v1/tenants/alpha", {"name": "x" * 101})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "name"
