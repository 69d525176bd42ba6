"""POST /api/v1/incidents/<id>/acknowledge/ and …/resolve/: members acknowledge an open incident
(once, an optional note) and resolve it with a note; viewers are refused; another tenant's
incident is 404. The console's buttons call the same services (test_console_pages.py)."""

import pytest

from apps.core.models import AuditEvent
from apps.monitoring.models import Incident
from apps.tenants.models import Membership, Role
from tests.monitoring.factories import create, in_tenant, seed_history


@pytest.fixture
def incident(world):
    monitor = create(world["tenant_a"], kind="http", name="API", url="https://a.example.com/")
    seed_history(world["tenant_a"], monitor, days=3)
    with in_tenant(world["tenant_a"]):
        return Incident.objects.get(monitor=monitor, status="open")


def test_acknowledge_then_resolve(client_for, world, incident):
    alice = client_for(world["alice"], world["tenant_a"])
    url = f"/api/v1/incidents/{incident.pk}/"
    answer = alice.post(f"{url}acknowledge/", {"note": "on it"}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["acknowledge_note"] == "on it" and answer.json()["acknowledged_at"]
    assert alice.post(f"{url}acknowledge/", {}, format="json").status_code == 409
    missing = alice.post(f"{url}resolve/", {"note": ""}, format="json")
    assert missing.status_code == 400 and missing.json()["errors"][0]["field"] == "note"
    done = alice.post(f"{url}resolve/", {"note": "fixed the pool"}, format="json")
    assert done.status_code == 200
    body = done.json()
    assert body["status"] == "resolved" and body["resolve_note"] == "fixed the pool"
    assert body["resolved_by_id"] == str(world["alice"].pk) and body["duration_s"] >= 0
    assert alice.post(f"{url}resolve/", {"note": "again"}, format="json").status_code == 409
    assert {"incident.acknowledged", "incident.resolved"} <= set(
        AuditEvent.objects.values_list("action", flat=True)
    )


def test_viewers_are_refused_and_strangers_get_404(client_for, world, incident,
                                                    django_user_model):  # fmt: skip
    user = django_user_model.objects.create_user(
        username="val@example.com", email="val@example.com", password="x"
    )
    Membership.objects.create(tenant=world["tenant_a"], user=user, role=Role.VIEWER)
    viewer = client_for(user, world["tenant_a"])
    url = f"/api/v1/incidents/{incident.pk}/"
    assert viewer.post(f"{url}acknowledge/", {}, format="json").status_code == 403
    assert viewer.post(f"{url}resolve/", {"note": "x"}, format="json").status_code == 403
    bob = client_for(world["bob"], world["tenant_b"])
    assert bob.post(f"{url}resolve/", {"note": "x"}, format="json").status_code == 404
    with in_tenant(world["tenant_a"]):
        incident.refresh_from_db()
    assert incident.status == "open" and incident.acknowledged_at is None
