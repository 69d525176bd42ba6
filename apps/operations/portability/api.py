"""/api/v1/export and /api/v1/import: a tenant's configuration as one JSON document.

Roles: members export without values (GET, or POST without `include_values`); owners and admins
export with values sealed to a passphrase (POST only: a passphrase never travels in a URL) and
import. Neither answer is kept for `Idempotency-Key` replays: they may carry secrets (sealed
values; the signing secrets of webhook endpoints an import creates, shown once)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from apps.core.api.schema import PROBLEM_MEDIA, Problem
from apps.core.api.views import not_idempotent
from apps.core.problems import InvalidInput
from apps.tenants.api.base import TenantScopedViewSet
from apps.tenants.models import Role
from apps.tenants.roles import role_at_least

from . import services

DOCUMENT_EXAMPLE = {
    "alert_channels": [
        {"config": {"to": ["ops@example.com"]}, "enabled": True, "kind": "email", "name": "Ops"}
    ],
    "apps": [
        {"branch": "main", "domains": ["shop.example.com"], "env_vars": ["DATABASE_URL"],
         "formation": {"web": 2}, "git_url": "https://github.com/acme/shop.git",
         "health_check_path": "/healthz", "image_ref": "", "name": "shop", "source_kind": "git"}
    ],
    "format": "quayside.config",
    "format_version": 1,
    "maintenance_windows": [],
    "monitors": [
        {"channels": ["Ops"], "expected_status": ["200-299"], "failures_before_down": 2,
         "follow_redirects": True, "interval_s": 60, "json_operator": "eq", "json_path": "",
         "json_value": "", "keyword": "", "keyword_mode": "present", "kind": "http",
         "max_response_ms": None, "method": "GET", "name": "Shop", "successes_before_up": 1,
         "timeout_s": 10, "url": "https://shop.example.com/healthz", "verify_tls": True}
    ],
    "secrets": None,
    "status_pages": [
        {"announcement": "", "description": "", "monitors": ["Shop"], "public": True,
         "slug": "acme", "title": "Acme status"}
    ],
    "webhook_endpoints": [
        {"description": "CI", "enabled": True, "event_types": ["deployment.*"],
         "url": "https://ci.example.com/hooks/quayside"}
    ],
}  # fmt: skip
SEALED_EXAMPLE = {
    "cipher": "AES-256-GCM", "ciphertext": "q0x…", "kdf": "scrypt",
    "kdf_params": {"n": 32768, "p": 1, "r": 8}, "nonce": "3Jt…", "salt": "Zm9v…",
}  # fmt: skip
PLAN_EXAMPLE = {
    "dry_run": True,
    "deploy": False,
    "valid": True,
    "problem": None,
    "summary": {"create": 2, "update": 1, "unchanged": 3},
    "plan": [
        {"section": "apps", "key": "shop", "action": "create",
         "fields": ["branch", "domains", "env_vars", "git_url", "health_check_path"]},
        {"section": "monitors", "key": "Shop", "action": "update", "fields": ["interval_s"],
         "changes": {"interval_s": {"from": 30, "to": 60}}},
        {"section": "status_pages", "key": "acme", "action": "unchanged"},
    ],
}  # fmt: skip


class ExportInput(serializers.Serializer):
    include_values = serializers.BooleanField(
        default=False,
        help_text="Seal env var values and credentialed URLs into `secrets` (owners and admins).",
    )
    passphrase = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, write_only=True,
        help_text="With include_values: at least 12 characters; needed again to import them.",
    )  # fmt: skip


class SealedSecrets(serializers.Serializer):
    cipher = serializers.CharField()
    kdf = serializers.CharField()
    kdf_params = serializers.DictField(child=serializers.IntegerField())
    salt = serializers.CharField()
    nonce = serializers.CharField()
    ciphertext = serializers.CharField()


class ConfigDocument(serializers.Serializer):
    """The document (docs/export-import.md has each section's fields)."""

    format = serializers.CharField()
    format_version = serializers.IntegerField()
    apps = serializers.ListField(child=serializers.DictField())
    alert_channels = serializers.ListField(child=serializers.DictField())
    monitors = serializers.ListField(child=serializers.DictField())
    maintenance_windows = serializers.ListField(child=serializers.DictField())
    status_pages = serializers.ListField(child=serializers.DictField())
    webhook_endpoints = serializers.ListField(child=serializers.DictField())
    secrets = SealedSecrets(allow_null=True)


class ImportInput(serializers.Serializer):
    document = serializers.JSONField(help_text="A document as the export answers it.")
    dry_run = serializers.BooleanField(
        required=False, help_text="Answer the plan only; change nothing (also ?dry_run=true)."
    )
    deploy = serializers.BooleanField(
        required=False, help_text="Deploy each app created or changed (also ?deploy=true)."
    )
    passphrase = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, write_only=True,
        help_text="The export's passphrase, when its values are sealed.",
    )  # fmt: skip


class PlanStep(serializers.Serializer):
    section = serializers.CharField()
    key = serializers.CharField()
    action = serializers.ChoiceField(choices=["create", "update", "unchanged"])
    fields = serializers.ListField(child=serializers.CharField(), required=False)
    changes = serializers.DictField(required=False, help_text="field: {from, to} (updates).")
    warnings = serializers.ListField(child=serializers.CharField(), required=False)


class ImportOutput(serializers.Serializer):
    dry_run = serializers.BooleanField()
    deploy = serializers.BooleanField()
    valid = serializers.BooleanField(help_text="Whether the plan can be applied as it stands.")
    problem = serializers.DictField(
        allow_null=True,
        help_text="Dry runs: the refusal a real import would meet (problem details), or null.",
    )
    summary = serializers.DictField(child=serializers.IntegerField())
    plan = PlanStep(many=True)
    webhook_secrets = serializers.DictField(
        child=serializers.CharField(), required=False,
        help_text="Signing secrets of the webhook endpoints created, by URL: shown this once.",
    )  # fmt: skip
    deployments = serializers.ListField(child=serializers.DictField(), required=False)
    warnings = serializers.ListField(child=serializers.CharField(), required=False)


def _flag(request, data: dict, name: str) -> bool:
    if name in data:
        return bool(data[name])
    value = request.query_params.get(name, "")
    if value not in ("", "true", "false", "1", "0"):
        raise InvalidInput(f"{name} is true or false.", field=name)
    return value in ("true", "1")


class ConfigExportViewSet(TenantScopedViewSet):
    """The tenant's configuration as one document."""

    required_roles = {"retrieve": Role.MEMBER, "create": Role.MEMBER}
    serializer_class = ConfigDocument

    @extend_schema(
        operation_id="config_export",
        parameters=[OpenApiParameter("include_values", OpenApiTypes.BOOL, description=(
            "Not here: values are sealed to a passphrase, sent in a POST body (400).")
        )],
        responses={200: ConfigDocument, (409, PROBLEM_MEDIA[0]): Problem},
        description="The configuration without secrets (members and up): apps with their "
        "settings, env var names, domains; monitors, alert channels and their routing, "
        "maintenance windows, status pages; webhook endpoints. No ids or timestamps, keys "
        "sorted, objects referred to by name. Two objects of a section with the same name (or "
        "slug, or URL) are a 409 conflict naming them: rename one.",
        examples=[OpenApiExample("Document", value=DOCUMENT_EXAMPLE, response_only=True)],
    )  # fmt: skip
    def retrieve(self, request):
        if request.query_params.get("include_values") in ("true", "1"):
            raise InvalidInput(
                "Values are sealed to a passphrase: POST {include_values, passphrase} instead.",
                field="include_values",
            )
        return Response(services.config_export(tenant=self.tenant, actor=self.actor()))

    @extend_schema(
        operation_id="config_export_with_options",
        request=ExportInput,
        responses={200: ConfigDocument},
        description="The same document; with `include_values` (owners and admins) its env var "
        "values and credentialed URLs sealed to `passphrase` (scrypt + AES-256-GCM) in "
        "`secrets`. Audited.",
        examples=[
            OpenApiExample("Sealed", value={"include_values": True,
                                            "passphrase": "correct horse battery"},
                           request_only=True),
            OpenApiExample("Document", value={**DOCUMENT_EXAMPLE, "secrets": SEALED_EXAMPLE},
                           response_only=True),
        ],
    )  # fmt: skip
    @not_idempotent
    def create(self, request):
        data = ExportInput(data=request.data)
        data.is_valid(raise_exception=True)
        include = data.validated_data["include_values"]
        if include and not role_at_least(request.tenant_role, Role.ADMIN):
            raise PermissionDenied("Exporting values takes an owner or an admin.")
        document = services.config_export(
            tenant=self.tenant, actor=self.actor(), include_values=include,
            passphrase=data.validated_data.get("passphrase"),
        )  # fmt: skip
        return Response(document)


class ConfigImportViewSet(TenantScopedViewSet):
    """A document applied to this tenant (owners and admins)."""

    required_roles = {"create": Role.ADMIN}
    serializer_class = ImportOutput

    @extend_schema(
        operation_id="config_import",
        request=ImportInput,
        responses={200: ImportOutput},
        parameters=[
            OpenApiParameter("dry_run", OpenApiTypes.BOOL, description="As the body's field."),
            OpenApiParameter("deploy", OpenApiTypes.BOOL, description="As the body's field."),
        ],
        description="The plan (create, update or unchanged per object, with the fields that "
        "change) and, unless `dry_run`, its application in one transaction under the tenant's "
        "quotas and the claims on hostnames and status-page slugs: a refusal (400, 409 "
        "quota-exceeded, 409 conflict) leaves nothing written. An import adds and changes, "
        "never deletes. Nothing deploys unless `deploy`. A wrong passphrase is a 400.",
        examples=[
            OpenApiExample("Dry run", request_only=True, value={
                "document": DOCUMENT_EXAMPLE, "dry_run": True}),
            OpenApiExample("Plan", value=PLAN_EXAMPLE, response_only=True),
        ],
    )  # fmt: skip
    @not_idempotent
    def create(self, request):
        data = ImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        result = services.config_import(
            tenant=self.tenant,
            actor=self.actor(),
            document=values["document"],
            passphrase=values.get("passphrase"),
            dry_run=_flag(request, values, "dry_run"),
            deploy=_flag(request, values, "deploy"),
        )
        return Response(result)
