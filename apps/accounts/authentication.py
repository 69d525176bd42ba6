"""API key authentication (`Authorization: Bearer qs_…`). Placeholder until the API keys work lands:
it authenticates nobody, so other authenticators get their turn."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        return None

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
