"""Reads of the audit log, for the tenant and operator audit APIs (apps/tenants/api/audit.py).

Filters arrive validated (ids as UUIDs, times as datetimes). Who may see which tenant's events
is the caller's business: this module only narrows by `tenant_ids` when given. Every filter is
one WHERE clause of the same query (the actor's email is a subquery), so a page costs one query.
Indexes: tenant + time, action (pattern ops, for `member.*`), API key, target (models.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from .models import AuditEvent


def audit_events_list(
    *, tenant_ids: Iterable[uuid.UUID] | None = None, filters: dict[str, Any] | None = None
) -> QuerySet[AuditEvent]:
    """Newest first (created_at, then id, so ties page stably). `tenant_ids`: only those
    tenants' events, a list or a subquery (None: every event, for operators)."""
    filters = filters or {}
    events = AuditEvent.objects.all()
    if tenant_ids is not None:
        events = events.filter(tenant_id__in=tenant_ids)
    actor = filters.get("actor")
    if actor is not None:
        events = events.filter(_actor_q(actor))
    if filters.get("actor_api_key") is not None:
        events = events.filter(actor_api_key_id=filters["actor_api_key"])
    action = filters.get("action")
    if action:
        if action.endswith(".*"):
            events = events.filter(action__startswith=action[:-1])
        else:
            events = events.filter(action=action)
    if filters.get("target_type"):
        events = events.filter(target_type=filters["target_type"])
    if filters.get("target_id"):
        events = events.filter(target_id=filters["target_id"])
    if filters.get("since") is not None:
        events = events.filter(created_at__gte=filters["since"])
    if filters.get("until") is not None:
        events = events.filter(created_at__lt=filters["until"])
    if filters.get("severity"):
        events = events.filter(severity__in=filters["severity"])
    q = filters.get("q")
    if q:
        events = events.filter(
            Q(action__icontains=q)
            | Q(actor_label__icontains=q)
            | Q(target_id__icontains=q)
            | Q(tenant_label__icontains=q)
        )
    return events.order_by("-created_at", "-id")


def _actor_q(actor: uuid.UUID | str) -> Q:
    """A user's id, or an email: the label recorded then, or the person's email now."""
    if isinstance(actor, uuid.UUID):
        return Q(actor_user_id=actor)
    users = get_user_model().objects.filter(email__iexact=actor).values("pk")
    return Q(actor_label__iexact=actor) | Q(actor_user_id__in=users)


def audit_event_get(
    *, event_id: str, tenant_ids: list[uuid.UUID] | None = None
) -> AuditEvent | None:
    """One event, or None when it does not exist, is not visible, or the id is malformed."""
    try:
        pk = uuid.UUID(str(event_id))
    except ValueError:
        return None
    events = AuditEvent.objects.filter(pk=pk)
    if tenant_ids is not None:
        events = events.filter(tenant_id__in=tenant_ids)
    return events.first()
