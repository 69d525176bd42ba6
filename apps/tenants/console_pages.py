"""What every custom page of the tenant console does, whichever app it belongs to (deploy,
monitoring, accounts, webhooks, addons): its URLs, and who may change things on it. The apps of
one layer may not import each other, so these live here, beside the console site."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.urls import reverse

from apps.core.actor import Actor

from .console import console_read_only, console_role, console_site
from .roles import role_at_least


def console_url(name: str, *args: Any) -> str:
    """A console URL (`console:<name>`)."""
    return reverse(f"{console_site.name}:{name}", args=args)


def console_may(request: HttpRequest, minimum: str) -> bool:
    """May the caller change things that need `minimum` (never on a read-only tenant)?"""
    return not console_read_only(request) and role_at_least(console_role(request), minimum)


def console_require(request: HttpRequest, minimum: str) -> None:
    """A forged POST from a role below `minimum` is refused (403), as the API refuses it."""
    if not role_at_least(console_role(request), minimum):
        raise PermissionDenied("Your role in this tenant does not allow this.")


def console_actor(request: HttpRequest) -> Actor:
    """The caller, with their role here, for the services' audit rows."""
    return Actor.from_request(request, role=console_role(request))
