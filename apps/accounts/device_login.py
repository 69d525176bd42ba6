"""`quay login`: the OAuth 2.0 device authorization grant (RFC 8628), served by allauth's
identity provider (allauth.idp.oidc), which implements it: device codes, user codes, polling with
authorization_pending / slow_down / expired_token / access_denied, and hashed tokens.

What Quayside adds: the routes on the root host, the CLI's client (migration 0004), the approval
page's templates (templates/idp/oidc/), and CSRF protection of that page. allauth exempts it from
CSRF; a forged cross-site POST could then approve an attacker's device code with the victim's
session, so here the approval goes through Django's CSRF check (the templates carry the token).
docs/cli.md describes the flow."""

from __future__ import annotations

from allauth.core.internal import ratelimit
from allauth.idp.oidc import views as oidc_views
from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


def device_approval(request, *args, **kwargs):
    """allauth's approval view, without its `csrf_exempt` mark: Django's CsrfViewMiddleware
    checks this function, so a POST without the page's token is 403. (csrf_protect() would not
    do: functools.wraps copies the exempt mark onto the wrapper, and the check is skipped.)"""
    return oidc_views.device_authorization(request, *args, **kwargs)


@csrf_exempt  # a client's POST, as allauth's own view (no cookies, no session)
def device_code(request, *args, **kwargs):
    """allauth's device code endpoint, rate limited per address (IDP_OIDC_RATE_LIMITS
    `device_code`): each code is kept 10 minutes, and anyone may ask for one, so without a
    limit a script could fill the cache. Over it: 429 with an RFC 8628-style `slow_down`."""
    if request.method == "POST" and not ratelimit.consume(
        request=request, app="allauth.idp.oidc", action="device_code"
    ):
        return JsonResponse(
            {"error": "slow_down",
             "error_description": "Too many device codes from this address: wait a minute."},
            status=429,
        )  # fmt: skip
    return oidc_views.device_code(request, *args, **kwargs)


# Before allauth's own URLs: the first pattern matching /identity/o/device (or …/device/code)
# wins, and reversing allauth's names gives the same paths either way.
urlpatterns: list = [
    path("identity/o/device", device_approval, name="cli-device-approval"),
    path("identity/o/api/device/code", device_code, name="cli-device-code"),
    path("", include("allauth.idp.urls")),
]


def cli_client_ensure():
    """The `quay-cli` client as migration 0004 registers it (again, after a database was
    emptied: tests that TRUNCATE, `flush`). Idempotent."""
    from allauth.idp.oidc.models import Client
    from django.conf import settings
    from django.contrib.auth.hashers import make_password

    client, _ = Client.objects.update_or_create(
        id=settings.CLI_OAUTH_CLIENT_ID,
        defaults={
            "name": "quay CLI",
            "type": Client.Type.PUBLIC,
            "secret": make_password(None),
            "scopes": settings.CLI_OAUTH_SCOPE,
            "default_scopes": settings.CLI_OAUTH_SCOPE,
            "grant_types": f"{Client.GrantType.DEVICE_CODE}\n{Client.GrantType.REFRESH_TOKEN}",
            "response_types": "code",
            "redirect_uris": "",
            "skip_consent": False,
        },
    )
    return client
