"""Services write their domain events to the outbox in the same transaction as the change, with
the object as the API renders it (what outgoing webhooks carry)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.core.actor import Actor
from apps.core.models import OutboxEvent
from apps.core.problems import InvalidInput
from apps.monitoring import services as monitoring
from apps.monitoring.checks import Outcome
from apps.tenants import services as tenants
from apps.tenants.models import Membership, Role
from tests.monitoring.factories import create, in_tenant

pytestmark = pytest.mark.django_db


def _events(tenant, since: int) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(tenant_id=tenant.pk, id__gt=since).order_by("id"))


def _mark() -> int:
    return OutboxEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_tenant_and_member_changes_are_events(world):
    tenant, alice, charlie = world["tenant_a"], world["alice"], world["outsider"]
    membership = Membership.objects.create(tenant=tenant, user=charlie, role=Role.MEMBER)
    mark = _mark()
    tenants.tenant_rename(
        tenant=tenant, name="Alpha Renamed", actor=Actor(user=alice, role=Role.OWNER)
    )
    tenants.membership_role_change(
        membership=membership, role=Role.VIEWER, actor=Actor(user=alice, role=Role.OWNER)
    )
    tenants.membership_remove(membership=membership, actor=Actor(user=alice, role=Role.OWNER))
    events = _events(tenant, mark)
    assert [e.type for e in events] == ["tenant.renamed", "member.role_changed", "member.removed"]
    assert events[0].data["name"] == "Alpha Renamed"
    assert events[0].data["id"] == str(tenant.pk)
    assert events[1].data["email"] == charlie.email
    assert events[1].data["role"] == Role.VIEWER
    assert events[1].data["previous_role"] == Role.MEMBER
    assert events[2].data["reason"] == "removed"


def test_failed_change_leaves_no_event(world):
    tenant = world["tenant_a"]
    mark = _mark()
    with pytest.raises(InvalidInput):
        tenants.tenant_rename(
            tenant=tenant, name="", actor=Actor(user=world["alice"], role=Role.OWNER)
        )
    assert _events(tenant, mark) == []


def test_monitor_down_and_up_are_events_with_the_incident(world):
    tenant = world["tenant_a"]
    monitor = create(tenant, kind="http", name="api", url="http://127.0.0.1:9/")
    t0 = timezone.now()
    mark = _mark()
    with in_tenant(tenant):
        for ok, error, at in ((False, "Status 503", t0), (True, "", t0 + dt.timedelta(minutes=5))):
            item = monitoring.ResultItem(monitor.pk, Outcome(ok=ok, error=error), at)
            monitoring.results_apply(tenant=tenant, items=[item])
    events = _events(tenant, mark)
    assert [e.type for e in events] == [
        "monitor.down", "incident.opened", "monitor.up", "incident.resolved"
    ]  # fmt: skip
    down, opened, up, resolved = (e.data for e in events)
    assert down["id"] == str(monitor.pk) and down["status"] == "down"
    assert down["incident"]["id"] == opened["id"] == resolved["id"]
    assert opened["cause"] == "Status 503"
    assert resolved["status"] == "resolved" and resolved["duration_s"] == 300
    assert up["status"] == "up"
