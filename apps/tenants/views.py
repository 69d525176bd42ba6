"""Pages of the tenants app on the root host: the invitation link `/invitations/<token>`."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from apps.core.problems import ApplicationError

from . import selectors, services
from .models import InvitationStatus, TenantStatus

SIGNUP_URL = "/accounts/signup/"

_STATE_MESSAGES = {
    InvitationStatus.EXPIRED: "This invitation has expired. Ask whoever invited you for a new one.",
    InvitationStatus.REVOKED: "This invitation was revoked.",
    InvitationStatus.ACCEPTED: "This invitation has already been used.",
}


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def invitation_page(request: HttpRequest, token: str) -> HttpResponse:
    """Shows the invitation; a signed-in user with the invited address accepts it with a POST.
    Anyone else is offered sign-in and sign-up, both coming back here."""
    invitation = selectors.invitation_get_by_token(token=token)
    if invitation is None or invitation.tenant.status == TenantStatus.DELETED:
        return _render(request, {"error": "This invitation link is not valid."}, status=404)

    context = {
        "invitation": invitation,
        "tenant": invitation.tenant,
        "inviter": getattr(invitation.invited_by, "email", ""),
        "state_message": _STATE_MESSAGES.get(invitation.current_status, ""),
    }
    user = request.user
    if not user.is_authenticated:
        next_query = urlencode({"next": request.path})
        context["login_url"] = f"{settings.LOGIN_URL}?{next_query}"
        context["signup_url"] = f"{SIGNUP_URL}?{next_query}"
    else:
        context["email_matches"] = (user.email or "").lower() == invitation.email.lower()

    if request.method == "POST":
        if not user.is_authenticated:
            return _render(request, context, status=401)
        try:
            membership = services.invitation_accept(token=token, user=user)
        except ApplicationError as exc:
            context["error"] = exc.detail
            return _render(request, context, status=exc.status)
        context["accepted"] = True
        context["tenant_url"] = _tenant_url(membership.tenant)
        return _render(request, context)
    status = 410 if context["state_message"] else 200
    return _render(request, context, status=status)


def _tenant_url(tenant) -> str:
    """The tenant's host, with the scheme and port of ROOT_URL."""
    root = urlsplit(settings.ROOT_URL)
    port = f":{root.port}" if root.port else ""
    return f"{root.scheme}://{tenant.slug}.{settings.BASE_DOMAIN}{port}/"


def _render(request: HttpRequest, context: dict, *, status: int = 200) -> HttpResponse:
    response = render(request, "tenants/invitation.html", context, status=status)
    # The token is in this page's address: keep it out of Referer headers of outgoing links.
    response["Referrer-Policy"] = "no-referrer"
    return response
