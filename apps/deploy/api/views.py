"""/api/v1/apps/…: apps, deployments (with logs), releases (rollback), env vars, domains, scale,
restart, start/stop and status, in the tenant the request is routed to.

Roles: viewers read; members deploy and operate (deploy, cancel, rollback, restart, scale,
start, stop); admins manage the app itself, its env vars and domains, and reveal secrets. An app
of another tenant (or a malformed id) is 404.

The viewsets live one resource per module (app_views, deployment_views, release_views,
env_var_views, domain_views) on the bases in base.py; this module names them all, for the URLs
and for callers that import them from here."""

from .app_views import AppViewSet
from .deployment_views import (
    DeploymentViewSet,
    EventStreamRenderer,
    _Stream,
    _StreamSlot,
)
from .domain_views import DomainViewSet
from .env_var_views import EnvVarViewSet
from .release_views import ReleaseViewSet

__all__ = [
    "AppViewSet",
    "DeploymentViewSet",
    "DomainViewSet",
    "EnvVarViewSet",
    "EventStreamRenderer",
    "ReleaseViewSet",
    "_Stream",
    "_StreamSlot",
]
