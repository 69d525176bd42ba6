"""/api/v1/admin/config-variables: platform config variables, for operators (is_staff).

Lists every declared variable with its current value, default, type and bounds, and overrides
left from variables no longer declared (`registered: false`, ignored by services). PATCH
`{"value": …}` sets an override (validated by type); `{"value": null}` resets to the default."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.response import Response

from apps.core import platform_config
from apps.core.actor import Actor
from apps.core.config_vars import VarType
from apps.core.models import ConfigVariable

from .views import GenericViewSet

NAME = OpenApiParameter(
    "name", OpenApiTypes.STR, OpenApiParameter.PATH, description="e.g. monitoring.min_interval_s"
)
# Roles in a tenant do not apply (operators only); named as strings: core imports no app.
_ANY_ROLE = "viewer"
VARIABLE_EXAMPLE = {
    "name": "monitoring.min_interval_s",
    "registered": True,
    "type": "number",
    "category": "Monitoring",
    "description": "Shortest check interval (seconds) a monitor may be created or changed with.",
    "value": 30,
    "default": 20,
    "overridden": True,
    "minimum": 1,
    "maximum": 3600,
    "integer": True,
    "choices": None,
    "updated_by": "operator@example.com",
    "updated_at": "2026-11-23T10:00:00.000000Z",
}


class ConfigVariableOutput(serializers.Serializer):
    name = serializers.CharField()
    registered = serializers.BooleanField(
        help_text="False: a stale override of a variable no longer declared (ignored)."
    )
    type = serializers.SerializerMethodField()
    category = serializers.SerializerMethodField()
    description = serializers.SerializerMethodField()
    value = serializers.JSONField(help_text="The value services use now.")
    default = serializers.JSONField()
    overridden = serializers.BooleanField()
    minimum = serializers.SerializerMethodField()
    maximum = serializers.SerializerMethodField()
    integer = serializers.SerializerMethodField()
    choices = serializers.SerializerMethodField()
    updated_by = serializers.CharField(help_text="Email of who set the override, if anyone.")
    updated_at = serializers.DateTimeField(allow_null=True)

    def _var(self, entry, attr: str, default: Any = None) -> Any:
        return default if entry.var is None else getattr(entry.var, attr)

    @extend_schema_field(
        serializers.ChoiceField(choices=[t.value for t in VarType], allow_null=True)
    )
    def get_type(self, entry) -> str | None:
        return None if entry.var is None else str(entry.var.type)

    def get_category(self, entry) -> str:
        return self._var(entry, "category", "")

    def get_description(self, entry) -> str:
        return self._var(entry, "description", "")

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_minimum(self, entry):
        return self._var(entry, "minimum") if self._is(entry, VarType.NUMBER) else None

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_maximum(self, entry):
        return self._var(entry, "maximum") if self._is(entry, VarType.NUMBER) else None

    @extend_schema_field(serializers.BooleanField(allow_null=True))
    def get_integer(self, entry):
        return self._var(entry, "integer") if self._is(entry, VarType.NUMBER) else None

    @extend_schema_field(serializers.ListField(child=serializers.CharField(), allow_null=True))
    def get_choices(self, entry):
        return list(entry.var.choices) if self._is(entry, VarType.ENUM) else None

    @staticmethod
    def _is(entry, kind: VarType) -> bool:
        return entry.var is not None and entry.var.type == kind


class ConfigVariableViewSet(GenericViewSet):
    """Platform config variables (operators). Changes are audited as `config.updated`."""

    lookup_field = "name"
    lookup_value_regex = "[^/]+"
    permission_classes = [IsAuthenticated, IsAdminUser]
    required_roles = {"list": _ANY_ROLE, "retrieve": _ANY_ROLE, "partial_update": _ANY_ROLE}
    pagination_class = None  # a short, fixed list

    class UpdateInput(serializers.Serializer):
        value = serializers.JSONField(
            allow_null=True,
            help_text="The new value (checked against the variable's type and bounds); "
            "null removes the override.",
        )

    def get_queryset(self):
        return ConfigVariable.objects.none()

    @extend_schema(
        summary="List the platform config variables (operators)",
        responses=ConfigVariableOutput(many=True),
        examples=[OpenApiExample("Variables", value=[VARIABLE_EXAMPLE], response_only=True)],
    )
    def list(self, request):
        entries = platform_config.config_list()
        return Response(ConfigVariableOutput(entries, many=True).data)

    @extend_schema(
        summary="Show one platform config variable (operators)",
        parameters=[NAME],
        responses=ConfigVariableOutput,
        examples=[OpenApiExample("Variable", value=VARIABLE_EXAMPLE, response_only=True)],
    )
    def retrieve(self, request, name: str):
        return Response(ConfigVariableOutput(platform_config.config_entry(name)).data)

    @extend_schema(
        summary="Set or reset a platform config variable (operators)",
        description="`value` is validated by the variable's type: a number within its bounds, "
        "one of an enum's choices, a string up to its length. Out of range or not a choice: 400 "
        "validation-error. `null` resets to the default (also removes a stale override).",
        parameters=[NAME],
        request=UpdateInput,
        responses=ConfigVariableOutput,
        examples=[
            OpenApiExample("Set", value={"value": 30}, request_only=True),
            OpenApiExample("Reset", value={"value": None}, request_only=True),
            OpenApiExample("Updated", value=VARIABLE_EXAMPLE, response_only=True),
        ],
    )
    def partial_update(self, request, name: str):
        data = self.UpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        value = data.validated_data["value"]
        if value is None:
            entry = platform_config.config_reset(name=name, actor=Actor.from_request(request))
        else:
            entry = platform_config.config_set(
                name=name, value=value, actor=Actor.from_request(request)
            )
        return Response(ConfigVariableOutput(entry).data)
