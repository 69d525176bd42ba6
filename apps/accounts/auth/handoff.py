"""Signing in on a workspace's own host without signing in again.

Sessions are per host: the root host (sign-up, the account page) and each workspace's host
(`<slug>.BASE_DOMAIN`, its console) have their own cookies. "Open the console" on the account
page goes through `/accounts/open/<slug>/` on the root host, which checks the membership and
sends the browser to `/accounts/handoff/?token=…` on the workspace's host. The token is signed
(SECRET_KEY), names the person, the workspace and the password hash it was made under, is valid
for HANDOFF_MAX_AGE_S and is used at most once (its nonce is claimed in the cache). The handoff
view signs the person in on that host and sends them on to the console. Anything wrong (expired,
used, tampered, another workspace's, no longer a member) falls back to the host's sign-in page;
it never says why, so a token tells an outsider nothing."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

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


def _claim(token: str, tenant):
    """The person a valid, unused token names for this tenant, or None."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=HANDOFF_MAX_AGE_S)
    except signing.BadSignature:  # SignatureExpired is one
        return None
    if not isinstance(payload, dict) or payload.get("t") != str(tenant.pk):
        return None
    user = get_user_model().objects.filter(pk=payload.get("u"), is_active=True).first()
    if user is None or user.get_session_auth_hash()[:20] != payload.get("h"):
        return None
    # One use: the first request to claim the nonce wins (the token outlives it by nothing).
    if not cache.add(f"accounts:handoff:{payload.get('n')}", 1, timeout=HANDOFF_MAX_AGE_S * 2):
        return None
    if not Membership.objects.filter(user=user, tenant=tenant).exists():
        return None
    return user


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


@require_GET
@never_cache
def console_handoff(request: HttpRequest) -> HttpResponse:
    """Workspace host: sign the token's person in here, then the console."""
    tenant = getattr(request, "tenant", None)
    if tenant is None or getattr(tenant, "schema_name", "public") == "public":
        raise Http404
    user = _claim(request.GET.get("token", ""), tenant)
    if user is None:
        return HttpResponseRedirect("/accounts/login/?" + urlencode({"next": CONSOLE_PATH}))
    if not (request.user.is_authenticated and request.user.pk == user.pk):
        request.login_via = "console handoff"  # the audit row of user.logged_in says so
        login(request, user, backend=BACKEND)
    return HttpResponseRedirect(CONSOLE_PATH)
