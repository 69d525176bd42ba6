"""Pages of the tenants app: the invitation link `/invitations/<token>` (root host), and `/` of
the root host and of tenant hosts, which lead to the console rather than to a 404."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_safe

from apps.core.problems import ApplicationError

from . import selectors, services
from .models import InvitationStatus, TenantStatus

SIGNUP_URL = "/accounts/signup/"
CONSOLE_PATH = "/console/"
OPERATOR_CONSOLE_PATH = "/admin/"

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
        context["tenant_url"] = selectors.tenant_url(membership.tenant)
        return _render(request, context)
    status = 410 if context["state_message"] else 200
    return _render(request, context, status=status)


def _render(request: HttpRequest, context: dict, *, status: int = 200) -> HttpResponse:
    response = render(request, "tenants/invitation.html", context, status=status)
    # The token is in this page's address: keep it out of Referer headers of outgoing links.
    response["Referrer-Policy"] = "no-referrer"
    return response


def _sign_in(next_path: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{settings.LOGIN_URL}?{urlencode({'next': next_path})}")


@never_cache
@require_safe
def root_landing(request: HttpRequest) -> HttpResponse:
    """`/` on the root host. Anonymous: sign in, coming back here. Signed in: the console of
    their tenant (the one they own, else their first), on its own host (sessions are per host:
    /accounts/open/<slug>/ signs them in there with a one-time token); an operator with no
    tenant: the operator console; anyone else: their account page, which says they have no
    workspace yet."""
    if not request.user.is_authenticated:
        return _sign_in(request.path)
    tenant = selectors.landing_tenant(user=request.user)
    if tenant is not None:  # signed in there too, by accounts' one-time handoff
        return HttpResponseRedirect(reverse("account_console_open", args=[tenant.slug]))
    if request.user.is_staff:
        return HttpResponseRedirect(OPERATOR_CONSOLE_PATH)
    return HttpResponseRedirect(settings.LOGIN_REDIRECT_URL)


@never_cache
@require_safe
def tenant_landing(request: HttpRequest) -> HttpResponse:
    """`/` on a tenant's host: its console (which answers 404 to people who are not members);
    anonymous visitors sign in on this host first."""
    if not request.user.is_authenticated:
        return _sign_in(CONSOLE_PATH)
    return HttpResponseRedirect(CONSOLE_PATH)
