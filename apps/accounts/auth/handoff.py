"""Signing in on a workspace's own host without signing in again.

Sessions are per host: the root host (sign-up, the account page) and each workspace's host
(`<slug>.BASE_DOMAIN`, its console) have their own cookies. "Open the console" on the account
page goes through `/accounts/open/<slug>/` on the root host, which checks the membership and
sends the browser to `/accounts/handoff/?token=…` on the workspace's host. The token is signed
(SECRET_KEY), names the person, the workspace and the password hash it was made under, is valid
for HANDOFF_MAX_AGE_S and is used at most once (its nonce is claimed in the cache). The handoff
page names the person and the workspace; its button (a CSRF-checked POST) signs them in on that
host and sends them on to the console. Anything wrong (expired,
used, tampered, another workspace's, no longer a member) falls back to the host's sign-in page;
it never says why, so a token tells an outsider nothing."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from apps.tenants.models import Membership
from apps.tenants.selectors import memberships_for_user, tenant_url

HANDOFF_MAX_AGE_S = 60
SALT = "quayside.accounts.console-handoff"
BACKEND = "allauth.account.auth_backends.AuthenticationBackend"
CONSOLE_PATH = "/console/"


def handoff_token(*, user, tenant) -> str:
    """A one-time token that signs `user` in on `tenant`'s host."""
    payload = {
        "u": str(user.pk),
        "t": str(tenant.pk),
        "h": user.get_session_auth_hash()[:20],  # a password change voids it
        "n": secrets.token_urlsafe(12),
    }
    return signing.dumps(payload, salt=SALT, compress=True)


def _valid(token: str, tenant) -> tuple[object, str] | None:
    """(the person, the nonce) of a valid token for this tenant, not yet checked for use."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=HANDOFF_MAX_AGE_S)
    except signing.BadSignature:  # SignatureExpired is one
        return None
    if not isinstance(payload, dict) or payload.get("t") != str(tenant.pk):
        return None
    user = get_user_model().objects.filter(pk=payload.get("u"), is_active=True).first()
    if user is None or user.get_session_auth_hash()[:20] != payload.get("h"):
        return None
    if not Membership.objects.filter(user=user, tenant=tenant).exists():
        return None
    return user, str(payload.get("n"))


def _used(nonce: str) -> bool:
    return cache.get(f"accounts:handoff:{nonce}") is not None


def _use(nonce: str) -> bool:
    """One use: the first request to claim the nonce wins."""
    return cache.add(f"accounts:handoff:{nonce}", 1, timeout=HANDOFF_MAX_AGE_S * 2)


@login_required
@require_GET
@never_cache
def console_open(request: HttpRequest, slug: str) -> HttpResponse:
    """Root host: off to the workspace's console, signed in there too."""
    membership = memberships_for_user(user=request.user).filter(tenant__slug=slug).first()
    if membership is None:
        raise Http404
    token = handoff_token(user=request.user, tenant=membership.tenant)
    return HttpResponseRedirect(
        tenant_url(membership.tenant, "/accounts/handoff/?" + urlencode({"token": token}))
    )


@require_http_methods(["GET", "POST"])
@never_cache
def console_handoff(request: HttpRequest) -> HttpResponse:
    """Workspace host. GET: a page naming the person and the workspace, with a button (so a
    link someone else made cannot sign a browser in as them unawares: login CSRF). POST
    (CSRF-checked on this host): sign them in here, then the console. A browser already signed
    in here as someone else is not switched."""
    tenant = getattr(request, "tenant", None)
    if tenant is None or getattr(tenant, "schema_name", "public") == "public":
        raise Http404
    token = (
        request.POST.get("token", "") if request.method == "POST" else request.GET.get("token", "")
    )
    found = _valid(token, tenant)
    if found is None or _used(found[1]):
        return HttpResponseRedirect("/accounts/login/?" + urlencode({"next": CONSOLE_PATH}))
    user, nonce = found
    if request.user.is_authenticated:
        if request.user.pk == user.pk:
            return HttpResponseRedirect(CONSOLE_PATH)
        context = {"person": user, "workspace": tenant, "other": request.user}
        return render(request, "account/handoff.html", context, status=409)
    if request.method == "GET":
        return render(
            request, "account/handoff.html", {"person": user, "workspace": tenant, "token": token}
        )
    if not _use(nonce):
        return HttpResponseRedirect("/accounts/login/?" + urlencode({"next": CONSOLE_PATH}))
    request.login_via = "console handoff"  # the audit row of user.logged_in says so
    login(request, user, backend=BACKEND)
    return HttpResponseRedirect(CONSOLE_PATH)
