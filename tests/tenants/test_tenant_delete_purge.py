"""Deleting a tenant: 404 at once, then its schema is purged after the grace period by an
idempotent beat task that keeps the tenant row as a record."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context, schema_exists

from apps.core.actor import Actor
from apps.core.models import AuditEvent, InboxMessage
from apps.deploy.models import App
from apps.tenants import tasks
from apps.tenants.models import Domain, Invitation, Membership, Tenant, TenantStatus

pytestmark = pytest.mark.django_db


def age_deletion(tenant: Tenant, days: float) -> None:
    Tenant.objects.filter(pk=tenant.pk).update(deleted_at=timezone.now() - dt.timedelta(days=days))


def test_delete_is_soft_and_the_tenant_answers_404_at_once(client_for, team, invite):
    invitation, _ = invite(team.alpha, "soon@example.com")
    response = client_for(team.owner).delete("/api/v1/tenants/alpha")
    assert response.status_code == 204
    tenant = Tenant.objects.get(pk=team.alpha.pk)
    assert tenant.status == TenantStatus.DELETED
    assert tenant.deleted_at is not None and tenant.purged_at is None
    assert schema_exists(tenant.schema_name)  # kept through the grace period

    # Every route of the tenant is gone, by header, host, id and slug, for everybody.
    for who in (team.owner, team.admin, team.operator):
        assert client_for(who, team.alpha).get("/api/v1/members").status_code == 404
        assert (
            client_for(who).get("/api/v1/members", HTTP_HOST="alpha.localhost").status_code == 404
        )
    assert client_for(team.owner).get("/api/v1/tenants/alpha").status_code == 404
    assert client_for(team.owner).get("/api/v1/tenants").json()["results"] == []
    # Pending invitations die with it; members are told.
    invitation.refresh_from_db()
    assert invitation.status == "revoked"
    event = AuditEvent.objects.get(action="tenant.deleted", tenant_id=tenant.pk)
    assert event.metadata["invitations_revoked"] == 1
    told = set(InboxMessage.objects.filter(kind="tenant.deleted").values_list("user", flat=True))
    assert told == {team.admin.pk, team.member.pk, team.viewer.pk}


def test_the_slug_of_a_deleted_tenant_stays_taken(client_for, team):
    client_for(team.owner).delete("/api/v1/tenants/alpha")
    response = client_for(team.owner).post("/api/v1/tenants", {"name": "Again", "slug": "alpha"})
    assert response.status_code == 400


def test_purge_waits_for_the_grace_period(team):
    client_tenant = team.alpha
    from apps.tenants.services import tenant_delete

    tenant_delete(tenant=client_tenant, actor=Actor(user=team.owner, role="owner"))
    age_deletion(client_tenant, settings.TENANT_PURGE_GRACE_DAYS - 1)
    assert tasks.purge_due() == []
    assert schema_exists(client_tenant.schema_name)
    assert Tenant.objects.get(pk=client_tenant.pk).purged_at is None


def test_purge_after_the_grace_period_drops_the_schema_and_runs_twice_harmlessly(team):
    from apps.tenants.services import tenant_delete

    with schema_context(team.alpha.schema_name):
        App.objects.create(name="doomed")
        # The test's transaction still holds the insert's deferred FK checks, which would block
        # DROP; the beat task runs in a transaction of its own and never meets them.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    tenant_delete(tenant=team.alpha, actor=Actor(user=team.owner, role="owner"))
    age_deletion(team.alpha, settings.TENANT_PURGE_GRACE_DAYS + 1)

    assert tasks.purge_due() == [str(team.alpha.pk)]
    assert not schema_exists(team.alpha.schema_name)
    tenant = Tenant.objects.get(pk=team.alpha.pk)
    assert tenant.status == TenantStatus.DELETED and tenant.purged_at is not None
    assert not Domain.objects.filter(tenant=tenant).exists()
    assert not Membership.objects.filter(tenant=tenant).exists()
    assert not Invitation.objects.filter(tenant=tenant).exists()
    event = AuditEvent.objects.get(action="tenant.purged", tenant_id=tenant.pk)
    assert event.metadata["schema"] == "t_alpha"
    assert event.metadata["memberships"] == 4

    purged_at = tenant.purged_at
    assert tasks.purge_due() == []
    assert Tenant.objects.get(pk=tenant.pk).purged_at == purged_at
    assert AuditEvent.objects.filter(action="tenant.purged").count() == 1
    # Bravo is untouched.
    assert schema_exists(team.bravo.schema_name)
    assert Tenant.objects.get(pk=team.bravo.pk).status == TenantStatus.ACTIVE


def test_purge_of_a_tenant_whose_schema_is_already_gone_still_completes(team):
    """A purge killed after dropping the schema (or a schema removed by hand) is finished."""
    from apps.tenants.services import tenant_delete, tenant_purge

    tenant_delete(tenant=team.alpha, actor=Actor(user=team.owner, role="owner"))
    age_deletion(team.alpha, settings.TENANT_PURGE_GRACE_DAYS + 1)
    with connection.cursor() as cursor:
        cursor.execute('DROP SCHEMA "t_alpha" CASCADE')
    assert tenant_purge(tenant_id=team.alpha.pk) is True
    assert tenant_purge(tenant_id=team.alpha.pk) is False


def test_active_tenants_are_never_purged(team):
    from apps.tenants.services import tenant_purge

    Tenant.objects.filter(pk=team.alpha.pk).update(
        deleted_at=timezone.now() - dt.timedelta(days=365)
    )
    assert tenant_purge(tenant_id=team.alpha.pk) is False
    assert schema_exists(team.alpha.schema_name)


def test_the_purge_task_is_on_the_beat_schedule():
    entry = settings.TENANT_BEAT_SCHEDULE["tenants.purge_due"]
    assert entry["task"] == tasks.purge_due.name
