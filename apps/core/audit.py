"""audit_record(): the one way services write to the audit log."""

from __future__ import annotations

from typing import Any

from django.db import models

from .models import AuditEvent, AuditSeverity
from .request_context import current


def audit_record(
    *,
    action: str,
    actor: Any = None,
    api_key: Any = None,
    tenant: Any = None,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str = "",
    metadata: dict[str, Any] | None = None,
    severity: str = AuditSeverity.INFO,
) -> AuditEvent:
    """Record `action` (`<entity>.<past tense>`). `actor` is a user, `api_key` a key acting for
    a tenant; IP, user agent and request id come from the request being served."""
    context = current()
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
    actor_label = ""
    if api_key is not None:
        actor_label = str(api_key)
    elif actor is not None and getattr(actor, "is_authenticated", False):
        actor_label = getattr(actor, "email", "") or str(actor)
    else:
        actor = None
    return AuditEvent.objects.create(
        action=action,
        severity=severity,
        actor_user_id=getattr(actor, "pk", None),
        actor_api_key_id=getattr(api_key, "pk", None),
        actor_label=actor_label[:255],
        tenant_id=getattr(tenant, "pk", None),
        tenant_label=(getattr(tenant, "slug", "") or "")[:100],
        target_type=target_type[:100],
        target_id=str(target_id)[:64],
        ip_address=context.ip_address,
        user_agent=context.user_agent,
        request_id=context.request_id if context.request_id != "-" else "",
        metadata=metadata or {},
    )


def audit_as(
    actor: Any,
    action: str,
    *,
    tenant: Any = None,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str = "",
    severity: str = AuditSeverity.INFO,
    **metadata: Any,
) -> AuditEvent:
    """Record `action` done by `actor` (an apps.core.actor.Actor): the one audit helper of the
    services. The record names the actor's user or API key, as audit_record does."""
    return audit_record(
        action=action,
        actor=actor.user,
        api_key=actor.api_key,
        tenant=tenant,
        target=target,
        target_type=target_type,
        target_id=target_id,
        metadata=metadata,
        severity=severity,
    )
