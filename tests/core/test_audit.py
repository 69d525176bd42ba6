import pytest
from django.db import DatabaseError, connection, transaction

from apps.core.audit import audit_record
from apps.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_audit_record_keeps_who_what_and_where(world):
    event = audit_record(
        action="tenant.renamed",
        actor=world["alice"],
        tenant=world["tenant_a"],
        target=world["tenant_a"],
        metadata={"from": "A", "to": "Alpha"},
    )
    event.refresh_from_db()
    assert event.actor_label == "alice@example.com"
    assert event.tenant_label == "alpha"
    assert event.target_type == "tenants.tenant"
    assert event.target_id == str(world["tenant_a"].pk)
    assert event.metadata == {"from": "A", "to": "Alpha"}


def test_audit_events_cannot_be_changed_or_deleted(world):
    event = audit_record(action="thing.happened")
    with pytest.raises(ValueError):
        event.save()
    for statement in ("UPDATE core_auditevent SET action = 'x'", "DELETE FROM core_auditevent"):
        with pytest.raises(DatabaseError), transaction.atomic():
            connection.cursor().execute(statement + " WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "thing.happened"
