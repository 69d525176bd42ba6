"""OAuth access tokens as API credentials: `Authorization: Bearer <token>` where the token came
from the device login of `quay login` (allauth.idp.oidc, see device_login.py).

A person's credential, like a session: the tenant is still chosen by the host or X-Tenant-ID and
membership is checked by apps.tenants.permissions.TenantMember, as for a session. Only access
tokens granted the API scope (settings.CLI_OAUTH_SCOPE) count, so a token issued to some other
OpenID client for signing in elsewhere opens nothing here. allauth stores only the tokens'
SHA-256, so the lookup is by hash; an expired, revoked or unknown token is one 401 message.

Bearer values that are not ours are left to the next authenticator: `qs_…` API keys (checked
first) and allauth's JWTs (three dot-separated parts; these opaque tokens have no dots)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication
from rest_framework.exceptions import AuthenticationFailed

BEARER = b"bearer"
INVALID_TOKEN = "Invalid or expired access token: run `quay login` again."  # noqa: S105


class OAuthAccessTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != BEARER:
            return None
        raw = parts[1]
        if raw.startswith(b"qs_") or b"." in raw:
            return None  # an API key or a JWT: not ours
        try:
            value = raw.decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed(INVALID_TOKEN) from None

        from allauth.idp.oidc.models import Token  # models load after this module

        token = (
            Token.objects.valid()
            .by_value(value)
            .filter(type=Token.Type.ACCESS_TOKEN, user__isnull=False)
            .select_related("user")
            .first()
        )
        if (
            token is None
            or not token.user.is_active
            or settings.CLI_OAUTH_SCOPE not in token.get_scopes()
        ):
            raise AuthenticationFailed(INVALID_TOKEN)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class OAuthAccessTokenScheme(OpenApiAuthenticationExtension):
    target_class = OAuthAccessTokenAuthentication
    name = "oauthDeviceToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A person's access token from the OAuth 2.0 device login of "
            "`quay login` (RFC 8628: /identity/o/api/device/code, then /identity/o/api/token; "
            "docs/cli.md). The tenant by X-Tenant-ID, membership checked as for a session.",
        }
