"""Output and input shapes of /api/v1/apps/… (docs/deploy.md has the narrative)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.api.versioning import version_field
from apps.tenants.models import TenantStatus

from .. import selectors, tls
from ..models import (
    MAX_PROCESSES_PER_TYPE,
    DeploymentKind,
    DeploymentState,
    DomainStatus,
    LogStream,
    ProcessExitReason,
    SourceKind,
)


def _tenant(context):
    request = context.get("request")
    return context.get("tenant") or getattr(getattr(request, "_request", request), "tenant", None)


def _tenant_slug(context) -> str:
    return getattr(_tenant(context), "slug", "")


def tenant_suspended(context) -> bool:
    """Is the tenant the answer is about suspended? Its apps then do not run, whatever their
    own status says (that status is the tenant's choice, and comes back on resume). Read from
    the tenant the request (or event) carries: one tenant per answer, no query per app."""
    return getattr(_tenant(context), "status", None) == TenantStatus.SUSPENDED


def _public_url(hostname: str) -> str:
    return tls.app_url(hostname)


class CertificateOutput(serializers.Serializer):
    """The TLS certificate Caddy holds for a hostname (docs/deploy.md, "HTTPS")."""

    status = serializers.ChoiceField(
        choices=["none", "pending", "issued", "expired"],
        help_text="none: HTTPS is off, or the hostname may not have one (a domain not verified "
        "yet); pending: it gets one at its first HTTPS request; issued: one is valid until "
        "`not_after`; expired: the one held has expired.",
    )
    issuer = serializers.CharField(
        allow_null=True, help_text="The certificate authority that signed it."
    )
    not_after = serializers.DateTimeField(allow_null=True, help_text="When it expires.")


def certificate(hostname: str, *, eligible: bool) -> dict:
    state = tls.certificate_state(hostname, eligible=eligible)
    return CertificateOutput(state).data


class ReleaseRef(serializers.Serializer):
    id = serializers.UUIDField()
    version = serializers.IntegerField()


class AppOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    status = serializers.CharField(
        help_text="new, running, stopped or failed: the app's own status, which it keeps while "
        "its tenant is suspended (see `suspended`)."
    )
    suspended = serializers.SerializerMethodField(
        help_text="True while the tenant is suspended: the app does not run (its hosts answer "
        "503), whatever `status` says; it runs again on resume if `status` is running."
    )
    source_kind = serializers.ChoiceField(
        choices=SourceKind.choices,
        help_text="git: built from git_url; image: the prebuilt image image_ref (providers that "
        "run images only).",
    )
    git_url = serializers.CharField(source="git_url_display", help_text="Credentials masked.")
    branch = serializers.CharField()
    image_ref = serializers.CharField(
        help_text="Image sources: the image deployed, as given; each deployment pins the digest "
        "it resolves to (its release's `image`)."
    )
    has_registry_credentials = serializers.SerializerMethodField(
        help_text="Whether registry credentials are stored for image_ref (never shown)."
    )
    provider = serializers.CharField()
    region = serializers.CharField()
    hostname = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    health_check_path = serializers.SerializerMethodField()
    current_release = ReleaseRef(allow_null=True)
    live_deployment_id = serializers.UUIDField(allow_null=True)
    active_deployment_id = serializers.UUIDField(allow_null=True)
    webhook_url = serializers.SerializerMethodField()
    certificate = serializers.SerializerMethodField(
        help_text="The TLS certificate of the app's own hostname."
    )
    version = version_field()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_has_registry_credentials(self, app) -> bool:
        return bool(app.registry_credentials_encrypted)

    def get_suspended(self, app) -> bool:
        return tenant_suspended(self.context)

    def get_hostname(self, app) -> str:
        return selectors.app_hostname(app=app, tenant_slug=_tenant_slug(self.context))

    def get_url(self, app) -> str:
        return _public_url(self.get_hostname(app))

    def get_health_check_path(self, app) -> str:
        return app.health_check_path or settings.DEPLOY_HEALTH_PATH

    def get_webhook_url(self, app) -> str:
        return f"/webhooks/git/{app.pk}/"

    @extend_schema_field(CertificateOutput)
    def get_certificate(self, app) -> dict:
        return certificate(self.get_hostname(app), eligible=True)


class AppCreatedOutput(AppOutput):
    webhook_secret = serializers.CharField(
        help_text="Shown once: the secret for GitHub's X-Hub-Signature-256 or GitLab's token."
    )


class RegistryCredentialsInput(serializers.Serializer):
    """Pull credentials for an image source's registry: stored encrypted, never shown."""

    username = serializers.CharField(max_length=255, trim_whitespace=False)
    password = serializers.CharField(
        max_length=4096, trim_whitespace=False, help_text="A password or an access token."
    )


def _image_ref_field(**kwargs) -> serializers.CharField:
    return serializers.CharField(
        max_length=255, trim_whitespace=False, required=False, allow_blank=True,
        help_text="Image sources: registry[:port]/path[:tag][@sha256:…], e.g. "
        "registry.example.com/team/app:1.4 (Docker Hub when there is no registry).",
        **kwargs,
    )  # fmt: skip


class AppCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=63)
    source_kind = serializers.ChoiceField(
        choices=SourceKind.choices, required=False, default=SourceKind.GIT,
        help_text="image needs a provider that runs images: with the local provider, 400.",
    )  # fmt: skip
    git_url = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    branch = serializers.CharField(max_length=255, required=False, default="main")
    image_ref = _image_ref_field(default="")
    registry_credentials = RegistryCredentialsInput(required=False, allow_null=True, default=None)
    health_check_path = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )


class AppUpdateInput(serializers.Serializer):
    source_kind = serializers.ChoiceField(choices=SourceKind.choices, required=False)
    git_url = serializers.CharField(max_length=500, required=False, allow_blank=True)
    branch = serializers.CharField(max_length=255, required=False)
    image_ref = _image_ref_field()
    registry_credentials = RegistryCredentialsInput(
        required=False, allow_null=True, help_text="null removes the stored credentials."
    )
    health_check_path = serializers.CharField(max_length=200, required=False, allow_blank=True)


class WebhookSecretOutput(serializers.Serializer):
    webhook_url = serializers.CharField()
    webhook_secret = serializers.CharField()


class DeploymentOutput(serializers.Serializer):
    id = serializers.UUIDField()
    app_id = serializers.UUIDField()
    kind = serializers.CharField(help_text=", ".join(DeploymentKind.values))
    state = serializers.ChoiceField(choices=DeploymentState.choices)
    ref = serializers.CharField()
    commit_sha = serializers.CharField()
    release = ReleaseRef(allow_null=True)
    build_id = serializers.UUIDField(allow_null=True)
    formation = serializers.DictField(child=serializers.IntegerField())
    steps = serializers.DictField(
        child=serializers.DictField(child=serializers.CharField()),
        help_text="Each step it went through: {started_at, finished_at}.",
    )
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    cancel_requested = serializers.BooleanField()
    failure_step = serializers.CharField()
    failure_reason = serializers.CharField()
    started_by = serializers.CharField(source="started_by_label")
    logs_url = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_logs_url(self, deployment) -> str:
        return f"/api/v1/apps/{deployment.app_id}/deployments/{deployment.pk}/logs"


class DeployInput(serializers.Serializer):
    ref = serializers.CharField(
        max_length=255, required=False, allow_blank=True, default="",
        help_text="Branch, tag or commit; the app's branch when empty.",
    )  # fmt: skip
    cancel_running = serializers.BooleanField(
        required=False, default=False,
        help_text="Cancel a deployment that is running or queued instead of queueing behind it.",
    )  # fmt: skip


class LogLineOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="Cursor: pass it as `after` (or Last-Event-ID).")
    stream = serializers.ChoiceField(choices=LogStream.choices)
    line = serializers.CharField()
    created_at = serializers.DateTimeField()


class LogPageOutput(serializers.Serializer):
    results = LogLineOutput(many=True)
    next_after = serializers.IntegerField(help_text="Pass as `after` for the lines that follow.")
    finished = serializers.BooleanField(help_text="The deployment is over: no more lines come.")


class LogQueryInput(serializers.Serializer):
    after = serializers.IntegerField(required=False, default=0, min_value=0)
    limit = serializers.IntegerField(required=False, default=1000, min_value=1, max_value=5000)
    follow = serializers.BooleanField(required=False, default=False)


class BuildRef(serializers.Serializer):
    id = serializers.UUIDField()
    commit_sha = serializers.CharField()
    kind = serializers.CharField()
    image = serializers.CharField(
        help_text="registry/path@sha256:…, the image this build's releases run, digest pinned "
        "(empty on the local provider)."
    )


class ReleaseOutput(serializers.Serializer):
    id = serializers.UUIDField()
    version = serializers.IntegerField()
    description = serializers.CharField()
    status = serializers.CharField(help_text="pending, succeeded or failed (its release phase).")
    build = BuildRef(allow_null=True)
    config_keys = serializers.ListField(child=serializers.CharField())
    process_types = serializers.DictField(child=serializers.CharField())
    release_command = serializers.CharField()
    rollback_of = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by_label")
    current = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(
        serializers.IntegerField(allow_null=True, help_text="Version rolled back to, if any.")
    )
    def get_rollback_of(self, release) -> int | None:
        return release.rollback_of.version if release.rollback_of_id else None

    def get_current(self, release) -> bool:
        return release.pk == release.app.current_release_id


class EnvVarOutput(serializers.Serializer):
    key = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class EnvVarsUpdateInput(serializers.Serializer):
    vars = serializers.DictField(
        child=serializers.CharField(allow_null=True, allow_blank=True, trim_whitespace=False),
        allow_empty=False,
        help_text="Name → value to set it, or null to unset it.",
    )
    restart = serializers.BooleanField(
        required=False, default=True, help_text="Deploy the new release at once."
    )


class EnvVarsUpdateOutput(serializers.Serializer):
    release = ReleaseOutput()
    deployment = DeploymentOutput(allow_null=True)


class EnvVarRevealOutput(serializers.Serializer):
    key = serializers.CharField()
    value = serializers.CharField()


class DomainVerification(serializers.Serializer):
    type = serializers.CharField()
    name = serializers.CharField()
    value = serializers.CharField()


class DomainOutput(serializers.Serializer):
    id = serializers.UUIDField()
    hostname = serializers.CharField()
    status = serializers.CharField(help_text="pending or verified")
    verification = serializers.SerializerMethodField()
    verified_at = serializers.DateTimeField(allow_null=True)
    last_checked_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField()
    certificate = serializers.SerializerMethodField(
        help_text="The TLS certificate of this hostname: only verified domains get one."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(CertificateOutput)
    def get_certificate(self, domain) -> dict:
        return certificate(domain.hostname, eligible=domain.status == DomainStatus.VERIFIED)

    @extend_schema_field(DomainVerification)
    def get_verification(self, domain) -> dict:
        return {
            "type": "TXT",
            "name": domain.record_name,
            "value": domain.record_value,
        }


class DomainInput(serializers.Serializer):
    hostname = serializers.CharField(max_length=253)


class FormationOutput(serializers.Serializer):
    formation = serializers.DictField(child=serializers.IntegerField())


class ScaleInput(serializers.Serializer):
    formation = serializers.DictField(
        child=serializers.IntegerField(min_value=0, max_value=MAX_PROCESSES_PER_TYPE),
        allow_empty=False,
        help_text="Process type → count; types left out keep their count.",
    )


class ProcessExitOutput(serializers.Serializer):
    """A process that ended without being asked to (and was restarted). The payload of the
    `app.process_crashed` event too (with its `app`)."""

    type = serializers.CharField(source="process_type")
    index = serializers.IntegerField()
    deployment_key = serializers.CharField()
    deployment_id = serializers.UUIDField(allow_null=True)
    reason = serializers.ChoiceField(
        choices=ProcessExitReason.choices,
        help_text="oom_killed: it reached its memory limit (the plan's memory_mb) and was "
        "killed; crashed: any other exit nobody asked for.",
    )
    exit_code = serializers.IntegerField(allow_null=True)
    signal = serializers.IntegerField(allow_null=True, help_text="The signal that ended it.")
    at = serializers.DateTimeField()


class ProcessOutput(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField(source="process_type")
    index = serializers.IntegerField()
    deployment_key = serializers.CharField()
    state = serializers.CharField(help_text="As supervisord says: RUNNING, STARTING, FATAL, …")
    healthy = serializers.BooleanField()
    pid = serializers.IntegerField(allow_null=True)
    uptime_s = serializers.IntegerField(allow_null=True)
    cpu_s = serializers.FloatField(allow_null=True)
    memory_bytes = serializers.IntegerField(allow_null=True)
    last_exit = ProcessExitOutput(allow_null=True, help_text="Its last exit, if any.")
    restarts_24h = serializers.IntegerField(
        help_text="Exits in the last 24 hours (each followed by a restart), OOM kills included."
    )
    oom_kills_24h = serializers.IntegerField(
        help_text="Exits in the last 24 hours because it reached its memory limit."
    )


class StatusOutput(serializers.Serializer):
    status = serializers.CharField(
        help_text="new, running, stopped or failed (the app's status), or suspended while the "
        "tenant is suspended: nothing runs then, whatever the app's status."
    )
    suspended = serializers.BooleanField(help_text="True while the tenant is suspended.")
    url = serializers.CharField()
    current_release = ReleaseRef(allow_null=True)
    live_deployment_id = serializers.UUIDField(allow_null=True)
    active_deployment = DeploymentOutput(allow_null=True)
    formation = serializers.DictField(child=serializers.IntegerField())
    processes = ProcessOutput(many=True)
    runtime_error = serializers.CharField(help_text="Why processes could not be listed, if so.")
    last_crash = ProcessExitOutput(
        allow_null=True, help_text="The last exit of any of its processes, if any."
    )
    crashes_24h = serializers.IntegerField(help_text="Process exits in the last 24 hours.")
    oom_kills_24h = serializers.IntegerField(
        help_text="Of them, OOM kills (a process reached its memory limit)."
    )


class ResourceLimitsOutput(serializers.Serializer):
    memory_mb = serializers.IntegerField(help_text="Memory per process.")
    cpu_millicores = serializers.IntegerField(help_text="CPU per process (1000: a core).")
    pids = serializers.IntegerField(help_text="Processes and threads per sandbox.")
    disk_mb = serializers.IntegerField(help_text="Disk per app.")


class ProcessesOutput(serializers.Serializer):
    processes = ProcessOutput(many=True)
    limits = ResourceLimitsOutput(help_text="What each process (and the app) may use.")
    runtime_error = serializers.CharField(help_text="Why processes could not be listed, if so.")


class RuntimeLogsOutput(serializers.Serializer):
    lines = serializers.ListField(child=serializers.CharField())


class RuntimeLogsInput(serializers.Serializer):
    lines = serializers.IntegerField(required=False, default=100, min_value=1, max_value=2000)
