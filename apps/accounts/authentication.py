"""API key authentication: `Authorization: Bearer qs_…`.

Only bearer tokens that start with `qs_` are ours; any other (a JWT) is left to the next
authenticator. A `qs_` token that is unknown, revoked or expired is refused with 401 and one
message for all three, so an answer never tells whether a key ever existed.

On success `request.auth` is the ApiKey (its tenant, authority and throttle bucket are read by
apps.tenants.permissions and apps.core.api.principals) and `request.user` an ApiKeyPrincipal: an
authenticated caller that is no user, no staff and has no Django permissions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication
from rest_framework.exceptions import AuthenticationFailed

if TYPE_CHECKING:
    from .models import ApiKey

BEARER = b"bearer"
KEY_PREFIX = b"qs_"
INVALID_KEY = "Invalid, expired or revoked API key."


class ApiKeyPrincipal:
    """`request.user` for a request made with an API key: user-like enough for code that asks
    `is_authenticated` or `is_staff`, and owning nothing (pk and id are None)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None
    email = ""
    username = ""

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key

    def __str__(self) -> str:
        return f"API key {self.api_key}"

    def __repr__(self) -> str:
        return f"<ApiKeyPrincipal {self.api_key.prefix}… tenant={self.api_key.tenant_id}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiKeyPrincipal) and other.api_key.pk == self.api_key.pk

    def __hash__(self) -> int:
        return hash(("api-key", self.api_key.pk))

    def get_username(self) -> str:
        return str(self)

    # A key holds no Django model permissions: it acts through its tenant authority only.
    def has_perm(self, perm, obj=None) -> bool:
        return False

    def has_perms(self, perm_list, obj=None) -> bool:
        return False

    def has_module_perms(self, app_label) -> bool:
        return False

    def get_all_permissions(self, obj=None) -> set[str]:
        return set()


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if len(parts) < 2 or parts[0].lower() != BEARER or not parts[1].startswith(KEY_PREFIX):
            return None  # not an API key: the next authenticator's turn
        if len(parts) > 2:
            raise AuthenticationFailed("Invalid Authorization header: send 'Bearer qs_…'.")
        try:
            raw_key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed(INVALID_KEY) from None

        from .services import api_key_authenticate  # models load after this module is imported

        api_key = api_key_authenticate(raw_key=raw_key)
        if api_key is None:
            raise AuthenticationFailed(INVALID_KEY)
        return ApiKeyPrincipal(api_key), api_key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A tenant API key, `qs_…` (see /api/v1/api-keys).",
        }


class JWTScheme(OpenApiAuthenticationExtension):
    target_class = "allauth.headless.contrib.rest_framework.authentication.JWTTokenAuthentication"
    name = "jwt"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from /api/v1/auth/ (5 minutes; refresh for a new one).",
        }
