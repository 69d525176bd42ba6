"""/api/v1/api-keys: a tenant's API keys (see docs/api-keys.md).

Tenant admins and owners, operators and admin-authority keys manage keys; members and viewers
get 403. The raw key appears once, in the answer to the create call."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from apps.core.api.schema import PROBLEM_MEDIA, Problem
from apps.tenants.api.base import TenantScopedViewSet
from apps.tenants.models import Role

from .. import selectors, services
from ..models import ApiKey, ApiKeyAuthority, ApiKeyStatus

FORBIDDEN = {(403, PROBLEM_MEDIA[0]): Problem}
WHO = "Owners, admins, operators and admin-authority keys; members and viewers get 403."
KEY_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Key id.")

_EXAMPLE_KEY = {
    "id": "4f0c2a8e-8d1b-4d6a-9a53-2f4c6f1f8b10",
    "name": "CI deploys",
    "prefix": "qs_Xk3v9A",
    "last8": "p7Qw2LzE",
    "authority": "member",
    "status": "active",
    "created_by": {"id": "0b7f3a52-5f0e-4a36-8f43-6c7d5b8e2a11", "email": "alice@example.com"},
    "created_at": "2026-11-23T10:00:00.000000Z",
    "updated_at": "2026-11-23T10:00:00.000000Z",
    "expires_at": "2027-11-23T00:00:00.000000Z",
    "last_used_at": None,
    "revoked_at": None,
    "allowed_operations": [],
}


class ApiKeyViewSet(TenantScopedViewSet):
    """List, create, read and revoke the tenant's API keys. Revoking is `POST {id}/revoke`:
    a revoked key stays listed (status `revoked`) for the record."""

    required_roles = {
        "list": Role.ADMIN,
        "create": Role.ADMIN,
        "retrieve": Role.ADMIN,
        "revoke": Role.ADMIN,
    }
    lookup_value_regex = "[^/]+"  # malformed ids answer 404 from the selector, like unknown ones

    class FilterInput(serializers.Serializer):
        status = serializers.ChoiceField(choices=ApiKeyStatus.choices, required=False)
        authority = serializers.ChoiceField(choices=ApiKeyAuthority.choices, required=False)

        class Meta:
            ref_name = "ApiKeyFilter"

    class Output(serializers.Serializer):
        class CreatorOutput(serializers.Serializer):
            id = serializers.UUIDField()
            email = serializers.EmailField()

            class Meta:
                ref_name = "ApiKeyCreator"

        id = serializers.UUIDField()
        name = serializers.CharField()
        prefix = serializers.CharField(help_text="`qs_` and the next 6 characters of the key.")
        last8 = serializers.CharField(help_text="The last 8 characters of the key.")
        authority = serializers.ChoiceField(choices=ApiKeyAuthority.choices)
        status = serializers.ChoiceField(choices=ApiKeyStatus.choices)
        created_by = CreatorOutput(allow_null=True, help_text="The user who made it, if any.")
        created_at = serializers.DateTimeField()
        updated_at = serializers.DateTimeField()
        expires_at = serializers.DateTimeField(allow_null=True)
        last_used_at = serializers.DateTimeField(
            allow_null=True, help_text="Updated at most once a minute."
        )
        revoked_at = serializers.DateTimeField(allow_null=True)
        allowed_operations = serializers.ListField(
            child=serializers.CharField(),
            help_text="Operations this key may run (docs/agents.md); empty: no restriction.",
        )

        class Meta:
            ref_name = "ApiKey"

    class CreateInput(serializers.Serializer):
        name = serializers.CharField(max_length=services.NAME_MAX_LENGTH)
        authority = serializers.ChoiceField(choices=ApiKeyAuthority.choices)
        expires_at = serializers.DateTimeField(
            required=False, allow_null=True, help_text="In the future; none means no expiry."
        )
        allowed_operations = serializers.ListField(
            child=serializers.CharField(max_length=100),
            required=False,
            max_length=200,
            help_text=(
                "An agent key: the names of the operations it may run (GET /api/v1/operations), "
                "on every endpoint; any other endpoint answers 403. Empty or absent: no "
                "restriction beyond its authority."
            ),
        )

        class Meta:
            ref_name = "ApiKeyCreate"

    class CreateOutput(Output):
        key = serializers.SerializerMethodField(
            help_text=(
                "The raw key, in this answer only: store it now. A replay of the create call "
                "(same Idempotency-Key) answers null here, as the key is kept nowhere."
            )
        )

        class Meta:
            ref_name = "ApiKeyCreated"

        @extend_schema_field(serializers.CharField(allow_null=True))
        def get_key(self, api_key: ApiKey) -> str | None:
            return self.context["raw_key"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiKey.objects.none()
        filters = self.FilterInput(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.api_key_list(tenant=self.tenant, filters=filters.validated_data)

    @extend_schema(
        summary="List API keys",
        description=f"The tenant's keys, newest first; never the key itself. {WHO}",
        parameters=[FilterInput],
        responses={200: Output(many=True), **FORBIDDEN},
        examples=[OpenApiExample("A page of keys", value=_EXAMPLE_KEY, response_only=True)],
    )
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.Output(page, many=True).data)

    @extend_schema(
        summary="Create an API key",
        description=(
            "Answers the raw key once, in `key`; store it then, it cannot be shown again. "
            "A key's authority may not exceed the caller's role (a member-authority caller "
            f"cannot make an admin key). {WHO}"
        ),
        request=CreateInput,
        responses={201: CreateOutput, **FORBIDDEN},
        examples=[
            OpenApiExample(
                "CI key for a year",
                value={
                    "name": "CI deploys",
                    "authority": "member",
                    "expires_at": "2027-11-23T00:00:00Z",
                },
                request_only=True,
            ),
            OpenApiExample(
                "Created (the key is shown this once)",
                value={**_EXAMPLE_KEY, "key": "qs_Xk3v9A" + "x" * 29 + "p7Qw2LzE"},
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    def create(self, request):
        data = self.CreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        api_key, raw_key = services.api_key_create(
            tenant=self.tenant,
            actor=self.actor(),
            **data.validated_data,
        )
        response = Response(
            self.CreateOutput(api_key, context={"raw_key": None}).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/api-keys/{api_key.pk}", "Cache-Control": "no-store"},
        )
        response.raw_key = raw_key  # added by finalize_response, after the idempotency store
        return response

    @extend_schema(
        summary="Read an API key",
        description=f"Another tenant's key answers 404. {WHO}",
        parameters=[KEY_ID],
        responses={200: Output, **FORBIDDEN},
        examples=[OpenApiExample("A key", value=_EXAMPLE_KEY, response_only=True)],
    )
    def retrieve(self, request, pk: str):
        return Response(self.Output(self._get_key(pk)).data)

    @extend_schema(
        summary="Revoke an API key",
        description=(
            "Takes effect at once; the key stays listed with status `revoked`. Revoking a "
            f"revoked key changes nothing and answers 200. {WHO}"
        ),
        operation_id="api_keys_revoke",
        parameters=[KEY_ID],
        request=None,
        responses={200: Output, **FORBIDDEN},
        examples=[
            OpenApiExample(
                "Revoked",
                value={
                    **_EXAMPLE_KEY,
                    "status": "revoked",
                    "revoked_at": "2026-11-24T09:30:00.000000Z",
                },
                response_only=True,
            )
        ],
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk: str):
        api_key = services.api_key_revoke(api_key=self._get_key(pk), actor=self.actor())
        return Response(self.Output(api_key).data)

    def finalize_response(self, request, response, *args, **kwargs):
        """The raw key goes into the body only after the idempotency layer has kept its copy
        (apps/core/api/views.py), so it is stored nowhere: a replay answers `key: null`."""
        raw_key = getattr(response, "raw_key", None)
        response = super().finalize_response(request, response, *args, **kwargs)
        if raw_key is not None:
            response.data = {**response.data, "key": raw_key}
        return response

    def _get_key(self, pk: str) -> ApiKey:
        api_key = selectors.api_key_get(tenant=self.tenant, key_id=pk)
        if api_key is None:
            raise NotFound("No such API key.")
        return api_key
