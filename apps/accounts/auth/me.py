"""GET /api/v1/auth/me: who the caller is, their tenants and roles, and their MFA state."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from apps.core.api.views import APIView
from apps.tenants.permissions import is_api_key
from apps.tenants.selectors import memberships_for_user

from .mfa_policy import mfa_state_for_user

HEADLESS_SPEC_URL = settings.AUTH_API_SPEC_URL

EXAMPLE_ME = {
    "id": "0b6a4c1e-52d4-4df4-9a3e-3c1f2b6f3a10",
    "email": "jane@example.com",
    "name": "Jane Doe",
    "is_staff": False,
    "date_joined": "2026-01-05T10:00:00.000000Z",
    "tenants": [
        {
            "id": "6f1c1bde-3f47-4a39-9b1d-7d1d3c0c9a11",
            "slug": "jane",
            "name": "Jane's workspace",
            "status": "active",
            "role": "owner",
            "domain": "jane.quayside.example",
        }
    ],
    "mfa": {
        "enabled": True,
        "types": ["recovery_codes", "totp"],
        "recovery_codes_left": 9,
        "required": False,
    },
}


class MeMembershipOutput(serializers.Serializer):
    id = serializers.UUIDField(source="tenant.id")
    slug = serializers.CharField(source="tenant.slug")
    name = serializers.CharField(source="tenant.name")
    status = serializers.CharField(source="tenant.status")
    role = serializers.CharField(help_text="`owner`, `admin`, `member` or `viewer`.")
    domain = serializers.SerializerMethodField()

    def get_domain(self, membership) -> str:
        return f"{membership.tenant.slug}.{settings.BASE_DOMAIN}"


class MeMfaOutput(serializers.Serializer):
    enabled = serializers.BooleanField(help_text="A second factor protects every login.")
    types = serializers.ListField(
        child=serializers.CharField(),
        help_text="Enrolled authenticators: `totp`, `recovery_codes`.",
    )
    recovery_codes_left = serializers.IntegerField(
        allow_null=True, help_text="Unused recovery codes; null when none were generated."
    )
    required = serializers.BooleanField(
        help_text="True for staff when MFA is required before using the operator console."
    )


class MeOutput(serializers.Serializer):
    kind = serializers.SerializerMethodField(help_text="`user`")
    id = serializers.UUIDField(source="user.id")
    email = serializers.EmailField(source="user.email")
    name = serializers.CharField(source="user.get_full_name")
    is_staff = serializers.BooleanField(source="user.is_staff")
    date_joined = serializers.DateTimeField(source="user.date_joined")
    tenants = MeMembershipOutput(many=True)
    mfa = MeMfaOutput()

    def get_kind(self, me) -> str:
        return "user"


class MeKeyOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    last8 = serializers.CharField()
    authority = serializers.CharField(help_text="`admin` or `member`.")
    expires_at = serializers.DateTimeField(allow_null=True)


class MeKeyTenantOutput(serializers.Serializer):
    id = serializers.UUIDField()
    slug = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField()


class MeApiKeyOutput(serializers.Serializer):
    """An API key answers for itself: its tenant and its authority there."""

    kind = serializers.SerializerMethodField(help_text="`api_key`")
    api_key = MeKeyOutput(source="*")
    tenant = MeKeyTenantOutput()

    def get_kind(self, key) -> str:
        return "api_key"


EXAMPLE_KEY_ME = {
    "kind": "api_key",
    "api_key": {
        "id": "2f8e7a60-4b7c-4f5e-9d1a-0c3b5e7f9a21",
        "name": "CI deploys",
        "prefix": "qs_AbC123",
        "last8": "x9Yz0aBc",
        "authority": "member",
        "expires_at": None,
    },
    "tenant": {
        "id": "6f1c1bde-3f47-4a39-9b1d-7d1d3c0c9a11",
        "slug": "jane",
        "name": "Jane's workspace",
        "status": "active",
    },
}


class MeView(APIView):
    """Who is calling: a person (session or JWT) or an API key (in its tenant's context)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="auth_me",
        tags=["auth"],
        summary="The signed-in user, their tenants and roles, and their MFA state",
        description=(
            "Sign-up, login, MFA, tokens and password flows are allauth's headless API under "
            f"/api/v1/auth/app/v1/, documented in its own OpenAPI document: {HEADLESS_SPEC_URL}."
        ),
        external_docs={"url": HEADLESS_SPEC_URL, "description": "Auth API (OpenAPI document)"},
        responses={
            200: PolymorphicProxySerializer(
                component_name="Me",
                serializers=[MeOutput, MeApiKeyOutput],
                resource_type_field_name="kind",
            )
        },
        examples=[
            OpenApiExample("A person", value=EXAMPLE_ME, response_only=True),
            OpenApiExample(
                "An API key (send X-Tenant-ID)", value=EXAMPLE_KEY_ME, response_only=True
            ),
        ],
    )
    def get(self, request):
        if is_api_key(request.auth):
            return Response(MeApiKeyOutput(request.auth).data)
        user = request.user
        me = {
            "user": user,
            "tenants": memberships_for_user(user=user).order_by("tenant__name"),
            "mfa": mfa_state_for_user(user=user),
        }
        return Response(MeOutput(me).data)
