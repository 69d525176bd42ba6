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
from django.views.decorators.csrf import csrf_protect

device_approval = csrf_protect(oidc_views.device_authorization)

# Before allauth's own URLs: the first pattern matching /identity/o/device wins, and reversing
# "idp:oidc:device_authorization" gives the same path either way.
urlpatterns: list = [
    path("identity/o/device", device_approval, name="cli-device-approval"),
    path("", include("allauth.idp.urls")),
]
