"""Shared by the monitoring services: the not-found error (who acts is apps.core.actor.Actor,
recorded with apps.core.audit.audit_as)."""

from __future__ import annotations

import logging

from apps.core.problems import ApplicationError

logger = logging.getLogger(__name__)


class MonitorNotFound(ApplicationError):
    status = 404
    slug = "not-found"
