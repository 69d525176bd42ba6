"""`quay login`: the OAuth 2.0 device authorization grant (RFC 8628), served by allauth's
identity provider (allauth.idp.oidc), which implements it: device codes, user codes, polling with
authorization_pending / slow_down / expired_token / access_denied, and hashed tokens.

What Quayside adds: the routes on the root host, the CLI's client (migration 0004), the approval
page's templates (templates/idp/oidc/), and CSRF protection of that page. allauth exempts it from
CSRF; a forged cross-site POST could then approve an attacker's device code with the victim's
session, so here the approval goes through Django's CSRF check (the templates carry the token).
docs/cli.md describes the flow."""

from __future__ import annotations

from allauth.idp.oidc import views as oidc_views
from django.urls import include, path


def device_approval(request, *args, **kwargs):
    """allauth's approval view, without its `csrf_exempt` mark: Django's CsrfViewMiddleware
    checks this function, so a POST without the page's token is 403. (csrf_protect() would not
    do: functools.wraps copies the exempt mark onto the wrapper, and the check is skipped.)"""
    return oidc_views.device_authorization(request, *args, **kwargs)


# Before allauth's own URLs: the first pattern matching /identity/o/device wins, and reversing
# "idp:oidc:device_authorization" gives the same path either way.
urlpatterns: list = [
    path("identity/o/device", device_approval, name="cli-device-approval"),
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
