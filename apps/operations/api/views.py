"""/api/v1/operations: the registry (list, show) and its door (execute). docs/agents.md.

A tenant's people and keys see and run the tenant's operations (send X-Tenant-ID or use the
tenant host); operators see and run the operator ones on the root host as well."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from apps.core.api.schema import PROBLEM_MEDIA, ObjectAutoSchema, Problem
from apps.core.api.views import GenericViewSet
from apps.core.problems import PROBLEM_CONTENT_TYPE
from apps.tenants.models import Role

from .. import registry, services
from ..caller import Caller
from ..dispatch import EndpointProblem
from ..registry import Operation

NAME = OpenApiParameter(
    "name", OpenApiTypes.STR, OpenApiParameter.PATH, description="An operation's name."
)
_EXAMPLE = {
    "name": "app.rollback",
    "description": "Roll back to this release",
    "risk": "high",
    "role": "member",
    "read_only": False,
    "needs_confirmation": True,
    "rest": "POST /api/v1/apps/{app_id}/releases/{release_id}/rollback",
    "input_schema": {
        "type": "object",
        "properties": {"app_id": {"type": "string"}, "release_id": {"type": "string"}},
        "required": ["app_id", "release_id"],
        "additionalProperties": False,
    },
}


class OperationOutput(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField(source="resolved_description")
    risk = serializers.ChoiceField(choices=registry.RISKS)
    role = serializers.CharField(
        source="resolved_role",
        help_text="The least role that may run it: viewer, member, admin, owner or operator.",
    )
    read_only = serializers.BooleanField()
    needs_confirmation = serializers.BooleanField(help_text="High and critical risks.")
    rest = serializers.SerializerMethodField(help_text="The REST endpoint it is, if any.")
    input_schema = serializers.DictField(source="resolved_schema", help_text="JSON Schema.")

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_rest(self, operation: Operation) -> str | None:
        spec = operation.spec
        if spec is None:
            return None
        path = spec.path
        for param, prop in spec.path_params.items():
            path = path.replace("{" + param + "}", "{" + prop + "}")
        return f"{spec.method} {path.rstrip('/')}"


class OperationPage(serializers.Serializer):
    results = OperationOutput(many=True)
    next = serializers.CharField(allow_null=True, help_text="Always null: one page.")
    previous = serializers.CharField(allow_null=True, help_text="Always null: one page.")


class FilterInput(serializers.Serializer):
    risk = serializers.ChoiceField(choices=registry.RISKS, required=False)
    read_only = serializers.BooleanField(required=False, allow_null=True, default=None)
    q = serializers.CharField(required=False, help_text="Part of the name, e.g. `app.`.")


class ExecuteInput(serializers.Serializer):
    input = serializers.JSONField(required=False, default=dict, help_text="As input_schema says.")
    confirmation_token = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="From the 409 confirmation-required answer of the same call.",
    )


class ExecuteOutput(serializers.Serializer):
    operation = serializers.CharField()
    risk = serializers.ChoiceField(choices=registry.RISKS)
    result = serializers.JSONField(help_text="What the operation's REST endpoint answers.")


class _Catalogue(list):
    model = None


class OperationViewSet(GenericViewSet):
    permission_classes = [IsAuthenticated]
    required_roles = {"list": Role.VIEWER, "retrieve": Role.VIEWER, "execute": Role.VIEWER}
    allowed_when_suspended = True  # reads run; writes meet the endpoint's own 423
    allow_list_checks_itself = True  # execute checks the operation (services.py)
    pagination_class = None
    schema = ObjectAutoSchema()  # the list answers one page object, not a bare array

    def get_queryset(self):
        return _Catalogue()  # operations are no model rows: their path ids are names

    def caller(self) -> Caller:
        request = self.request
        auth = request.auth
        return Caller(
            request=request._request,
            user=request.user,
            api_key=auth if getattr(auth, "is_api_key", False) else None,
            tenant=getattr(request._request, "tenant", None),
            role=getattr(request, "tenant_role", None),
            via="rest",
            auth=auth,
        )

    def _visible(self, caller: Caller) -> list[Operation]:
        in_tenant = caller.tenant is not None
        return [
            op
            for op in registry.all_operations()
            if (caller.is_operator if op.operator_only else in_tenant)
        ]

    def _operation(self, name: str, caller: Caller) -> Operation:
        operation = registry.get(name)
        if operation is None or operation not in self._visible(caller):
            raise NotFound(f"No operation {name!r} here (GET /api/v1/operations lists them).")
        return operation

    @extend_schema(
        summary="List operations",
        operation_id="operations_list",
        description=(
            "Every operation the caller can see: the tenant's (in a tenant) and, for operators, "
            "the operator ones. Filter by `risk`, `read_only`, or `q` (part of the name)."
        ),
        parameters=[FilterInput],
        responses={200: OperationPage},
        examples=[
            OpenApiExample(
                "Operations",
                value={"results": [_EXAMPLE], "next": None, "previous": None},
                response_only=True,
            )
        ],
    )
    def list(self, request):
        filters = FilterInput(data=request.query_params)
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data
        operations = [
            op
            for op in self._visible(self.caller())
            if wanted.get("risk") in (None, op.risk)
            and wanted.get("read_only") in (None, op.read_only)
            and wanted.get("q", "") in op.name
        ]
        results = OperationOutput(operations, many=True).data
        return Response({"results": results, "next": None, "previous": None})

    @extend_schema(
        summary="Show an operation",
        operation_id="operations_retrieve",
        description="Its description, risk, role and input schema.",
        parameters=[NAME],
        responses={200: OperationOutput},
        examples=[OpenApiExample("An operation", value=_EXAMPLE, response_only=True)],
    )
    def retrieve(self, request, name: str):
        return Response(OperationOutput(self._operation(name, self.caller())).data)

    @extend_schema(
        summary="Run an operation",
        description=(
            "Runs the operation as the caller, with the same checks as its REST endpoint. A "
            "high or critical one first answers 409 `confirmation-required` with a "
            "`confirmation_token` (single use, at most 5 minutes, for this caller, operation "
            "and input), a plain-language `summary` and `expires_at`: repeat the call with the "
            "token to run it. Every run of a write is in the audit log. An error of the "
            "operation's endpoint is answered as that endpoint answers it."
        ),
        operation_id="operations_execute",
        parameters=[NAME],
        request=ExecuteInput,
        # The operation's own endpoint may answer these too (plan limits, credits; a provider).
        responses={
            200: ExecuteOutput,
            (402, PROBLEM_MEDIA[0]): Problem,
            (503, PROBLEM_MEDIA[0]): Problem,
        },
        examples=[
            OpenApiExample(
                "Roll back",
                value={
                    "input": {
                        "app_id": "7d4c1f7e-3b9e-4d53-a3a2-5b6f0c9d8e21",
                        "release_id": "1b2c3d4e-5f60-4718-92a3-b4c5d6e7f809",
                    },
                    "confirmation_token": "qsc_4rTn0b7mQ2xYzP1kLw9vC8sD5fGh3jK",
                },
                request_only=True,
            ),
            OpenApiExample(
                "Done",
                value={"operation": "app.scale", "risk": "medium", "result": {"web": 2}},
                response_only=True,
            ),
        ],
    )
    def execute(self, request, name: str):
        caller = self.caller()
        operation = self._operation(name, caller)
        body = ExecuteInput(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            result = services.operation_execute(
                operation=operation,
                caller=caller,
                data=body.validated_data["input"],
                confirmation_token=body.validated_data.get("confirmation_token") or None,
            )
        except EndpointProblem as problem:
            return Response(problem.body, status=problem.status, content_type=PROBLEM_CONTENT_TYPE)
        return Response({"operation": operation.name, "risk": operation.risk, "result": result})
