"""Shared by the monitoring services: who acts (Actor, SYSTEM), the not-found error, and the
audit helper."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from apps.core.audit import audit_record
from apps.core.problems import ApplicationError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who acts: a user, an API key acting for a tenant, or nobody (the scheduler, a ping)."""

    user: Any = None
    api_key: Any = None

    @property
    def user_id(self):
        user = self.user
        return user.pk if user is not None and getattr(user, "is_authenticated", False) else None


SYSTEM = Actor()


class MonitorNotFound(ApplicationError):
    status = 404
    slug = "not-found"


def _audit(action: str, *, actor: Actor, tenant, target=None, **metadata) -> None:
    audit_record(
        action=action,
        actor=actor.user,
        api_key=actor.api_key,
        tenant=tenant,
        target=target,
        metadata=metadata,
    )
