"""Apps and how they get deployed. Every model lives in the tenant's schema.

An App has a git source, env vars (encrypted), domains and a formation. A Deployment is one run of
the pipeline (fetch → build → release → start → verify → switch); it produces a Build and a
Release. Releases are immutable and numbered v1, v2, …; env var changes and rollbacks make new
ones. `App.live_deployment` names the deployment whose processes serve traffic now, and
`App.active_deployment` is the one-deployment-at-a-time slot (see services.py)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.core.models import TimeStampedModel


class AppStatus(models.TextChoices):
    NEW = "new"  # never deployed
    RUNNING = "running"
    STOPPED = "stopped"
    FAILED = "failed"  # the last deployment failed and nothing is live


class SourceKind(models.TextChoices):
    GIT = "git"  # built from a git repository (locally, or into an image in a cluster)
    IMAGE = "image"  # a prebuilt container image (providers that run images only)


class App(TimeStampedModel):
    """An application a tenant runs, served at <name>-<tenant>.<APPS_DOMAIN>."""

    # Optimistic locking (apps/core/versioning.py): moved by every edit, not by state changes.
    version = models.PositiveIntegerField(default=1, editable=False)
    name = models.SlugField(max_length=63, unique=True)
    source_kind = models.CharField(
        max_length=10, choices=SourceKind.choices, default=SourceKind.GIT
    )
    # image sources: the reference as given (runtime/images/reference.py); each deployment
    # resolves it to a digest, kept on its Build.
    image_ref = models.CharField(max_length=255, blank=True)
    # Fernet token of JSON {"username", "password"} for the image's registry; never shown.
    registry_credentials_encrypted = models.TextField(blank=True)
    # The git URL with any credentials masked, for display; the real one is encrypted.
    git_url_display = models.CharField(max_length=500, blank=True)
    git_url_encrypted = models.TextField(blank=True)
    branch = models.CharField(max_length=255, default="main")
    provider = models.CharField(max_length=20, default="local")
    region = models.CharField(max_length=40, default="local")
    status = models.CharField(
        max_length=20, choices=AppStatus.choices, default=AppStatus.NEW, db_index=True
    )
    # Empty: settings.DEPLOY_HEALTH_PATH.
    health_check_path = models.CharField(max_length=200, blank=True)
    webhook_secret_encrypted = models.TextField(blank=True)
    current_release = models.ForeignKey(
        "Release", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    live_deployment = models.ForeignKey(
        "Deployment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    active_deployment = models.ForeignKey(
        "Deployment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_id = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class BuildKind(models.TextChoices):
    """One per builder (apps/deploy/runtime/builders/)."""

    PYTHON = "python"
    NODE = "node"
    STATIC = "static"
    IMAGE = "image"  # a prebuilt image (SourceKind.IMAGE): nothing was built


class BuildStatus(models.TextChoices):
    BUILDING = "building"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Build(TimeStampedModel):
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="builds")
    ref = models.CharField(max_length=255, blank=True)
    commit_sha = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=10, choices=BuildKind.choices, blank=True)
    status = models.CharField(
        max_length=10, choices=BuildStatus.choices, default=BuildStatus.BUILDING
    )
    source_dir = models.CharField(max_length=500, blank=True)
    venv_dir = models.CharField(max_length=500, blank=True)
    # Procfile entries other than `release`: {"web": "gunicorn …", "worker": "…"}.
    process_types = models.JSONField(default=dict, blank=True)
    release_command = models.TextField(blank=True)
    # What its processes need at run time (Artefact.run_needs): PATH directories, default env
    # vars, host paths shown read-only. Empty for builds made before it existed.
    run_needs = models.JSONField(default=dict, blank=True)
    # Providers that run images: the image's repository ("registry/path") and the digest its
    # release runs, pinned ("sha256:…"): a prebuilt image's tag resolved when deployed, or what
    # the in-cluster build pushed. Empty for local builds.
    image_repository = models.CharField(max_length=255, blank=True)
    image_digest = models.CharField(max_length=140, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.app} build {self.commit_sha[:8] or self.pk}"

    @property
    def image(self) -> str:
        """`registry/path@sha256:…`, the image its releases run ("" without one)."""
        if not (self.image_repository and self.image_digest):
            return ""
        return f"{self.image_repository}@{self.image_digest}"


class ReleaseStatus(models.TextChoices):
    PENDING = "pending"  # its release command has not run yet
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Release(TimeStampedModel):
    """Build + config snapshot + process types. Immutable but for `status`."""

    IMMUTABLE_FIELDS = (
        "app_id",
        "version",
        "build_id",
        "config_encrypted",
        "process_types",
        "release_command",
    )

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="releases")
    version = models.PositiveIntegerField()
    build = models.ForeignKey(
        Build, null=True, blank=True, on_delete=models.RESTRICT, related_name="releases"
    )
    # Fernet token of the JSON {key: value} of the env vars at the time.
    config_encrypted = models.TextField()
    config_keys = models.JSONField(default=list, blank=True)
    process_types = models.JSONField(default=dict, blank=True)
    release_command = models.TextField(blank=True)
    description = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=10, choices=ReleaseStatus.choices, default=ReleaseStatus.PENDING
    )
    rollback_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_id = models.UUIDField(null=True, blank=True)
    created_by_label = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ("-version",)
        constraints = [
            models.UniqueConstraint(fields=["app", "version"], name="release_app_version")
        ]

    def __str__(self) -> str:
        return f"{self.app} v{self.version}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            stored = Release.objects.filter(pk=self.pk).values(*self.IMMUTABLE_FIELDS).first()
            if stored and any(stored[f] != getattr(self, f) for f in self.IMMUTABLE_FIELDS):
                raise ValueError("Releases are immutable: make a new one.")
        super().save(*args, **kwargs)


class DeploymentState(models.TextChoices):
    QUEUED = "queued"
    FETCHING = "fetching"
    BUILDING = "building"
    RELEASING = "releasing"
    STARTING = "starting"
    VERIFYING = "verifying"
    SWITCHING = "switching"
    LIVE = "live"
    FAILED = "failed"
    CANCELED = "canceled"


# Processes of one type an app may run (the formation's bound, whatever the plan allows).
MAX_PROCESSES_PER_TYPE = 50

RUNNING_STATES = (
    DeploymentState.FETCHING,
    DeploymentState.BUILDING,
    DeploymentState.RELEASING,
    DeploymentState.STARTING,
    DeploymentState.VERIFYING,
    DeploymentState.SWITCHING,
)
FINAL_STATES = (DeploymentState.LIVE, DeploymentState.FAILED, DeploymentState.CANCELED)


class DeploymentKind(models.TextChoices):
    DEPLOY = "deploy"  # fetch and build a git ref
    CONFIG = "config"  # env vars changed: same build, new config
    ROLLBACK = "rollback"  # an old release's build and config, as a new release
    RESTART = "restart"  # the current release on fresh processes
    SCALE = "scale"  # the current release with another formation
    START = "start"  # the current release after a stop


class Deployment(TimeStampedModel):
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="deployments")
    kind = models.CharField(
        max_length=10, choices=DeploymentKind.choices, default=DeploymentKind.DEPLOY
    )
    state = models.CharField(
        max_length=10,
        choices=DeploymentState.choices,
        default=DeploymentState.QUEUED,
        db_index=True,
    )
    ref = models.CharField(max_length=255, blank=True)
    commit_sha = models.CharField(max_length=64, blank=True)
    build = models.ForeignKey(
        Build, null=True, blank=True, on_delete=models.SET_NULL, related_name="deployments"
    )
    release = models.ForeignKey(
        Release, null=True, blank=True, on_delete=models.SET_NULL, related_name="deployments"
    )
    # Process type → count this deployment runs (copied from the formation when it starts).
    formation = models.JSONField(default=dict, blank=True)
    # {state: {"started_at": iso, "finished_at": iso}} for each step it went through.
    steps = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    failure_step = models.CharField(max_length=10, blank=True)
    failure_reason = models.TextField(blank=True)
    started_by_id = models.UUIDField(null=True, blank=True)
    started_by_label = models.CharField(max_length=255, blank=True)
    worker = models.CharField(max_length=255, blank=True)
    # What the runtime made for it (program names, sockets), so anyone can clean it up.
    runtime = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("-created_at",)
        indexes = [
            models.Index(
                fields=["state", "heartbeat_at"],
                condition=Q(state__in=list(RUNNING_STATES)),
                name="deployment_running",
            )
        ]

    def __str__(self) -> str:
        return f"{self.app} {self.kind} {self.pk} ({self.state})"

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES


class LogStream(models.TextChoices):
    SYSTEM = "system"
    BUILD = "build"
    RELEASE = "release"
    RUNTIME = "runtime"


class DeploymentLog(models.Model):
    """One redacted line of a deployment's output. The id is the SSE event id (resume cursor)."""

    id = models.BigAutoField(primary_key=True)
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="logs")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    stream = models.CharField(max_length=10, choices=LogStream.choices)
    line = models.TextField()

    class Meta:
        ordering = ("id",)
        indexes = [models.Index(fields=["deployment", "id"], name="deploymentlog_cursor")]

    def __str__(self) -> str:
        return f"[{self.stream}] {self.line[:80]}"


class Formation(TimeStampedModel):
    """How many processes of a type the live deployment runs."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="formation")
    process_type = models.CharField(max_length=30)
    count = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ("process_type",)
        constraints = [
            models.UniqueConstraint(fields=["app", "process_type"], name="formation_app_type")
        ]

    def __str__(self) -> str:
        return f"{self.app} {self.process_type}={self.count}"


class EnvVar(TimeStampedModel):
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="env_vars")
    key = models.CharField(max_length=255)
    value_encrypted = models.TextField()

    class Meta:
        ordering = ("key",)
        constraints = [models.UniqueConstraint(fields=["app", "key"], name="envvar_app_key")]

    def __str__(self) -> str:
        return f"{self.app} {self.key}"


class DomainStatus(models.TextChoices):
    PENDING = "pending"
    VERIFIED = "verified"


class AppDomain(TimeStampedModel):
    """A custom hostname; routed once a TXT record `_quayside.<hostname>` proves ownership."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="domains")
    hostname = models.CharField(max_length=253, unique=True)
    verification_token = models.CharField(max_length=64)
    status = models.CharField(
        max_length=10, choices=DomainStatus.choices, default=DomainStatus.PENDING
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ("hostname",)

    def __str__(self) -> str:
        return self.hostname

    @property
    def record_name(self) -> str:
        """The DNS TXT record that proves ownership of the hostname."""
        return f"_quayside.{self.hostname}"

    @property
    def record_value(self) -> str:
        return f"quayside-verification={self.verification_token}"


class WebhookDelivery(models.Model):
    """A git host's delivery, stored first (unique) so a redelivery is recognised: by its
    delivery id, and for pushes also by the SHA-256 of the body, since a provider's delivery id
    is not covered by its signature (a captured push sent again under a new id is a replay)."""

    id = models.BigAutoField(primary_key=True)
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="webhook_deliveries")
    provider = models.CharField(max_length=10)
    delivery_id = models.CharField(max_length=100)
    event = models.CharField(max_length=50, blank=True)
    # Pushes only (blank for other events and rows stored before it existed).
    body_sha256 = models.CharField(max_length=64, blank=True, default="")
    outcome = models.CharField(max_length=100, blank=True)
    deployment = models.ForeignKey(
        Deployment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("-received_at",)
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "delivery_id"], name="webhookdelivery_unique"
            ),
            models.UniqueConstraint(
                fields=["app", "body_sha256"],
                condition=~models.Q(body_sha256=""),
                name="webhookdelivery_unique_body",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.delivery_id}"


class ProcessExitReason(models.TextChoices):
    OOM_KILLED = "oom_killed"  # its memory limit (memory_mb) was reached
    CRASHED = "crashed"  # any other exit nobody asked for


class ProcessEvent(models.Model):
    """A process of an app that ended without being asked to, as the runtime saw it (recorded
    by the sampler, apps/deploy/usage_history.py); the runtime restarts it. Unique per process
    and moment, so reading the runtime's exits again records nothing twice."""

    id = models.BigAutoField(primary_key=True)
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="process_events")
    # The deployment whose process it was (null once that deployment is deleted, or if the
    # runtime named one the database does not know).
    deployment = models.ForeignKey(
        Deployment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    deployment_key = models.CharField(max_length=32)
    process_type = models.CharField(max_length=30)
    index = models.PositiveSmallIntegerField()
    reason = models.CharField(max_length=20, choices=ProcessExitReason.choices)
    exit_code = models.SmallIntegerField(null=True, blank=True)
    signal = models.SmallIntegerField(null=True, blank=True)
    at = models.DateTimeField()  # when it ended
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["app", "deployment_key", "process_type", "index", "at"],
                name="processevent_unique",
            )
        ]
        indexes = [models.Index(fields=["app", "at"], name="processevent_app_at")]

    def __str__(self) -> str:
        return f"{self.app_id} {self.process_type}.{self.index} {self.reason} at {self.at}"


class ProcessSample(models.Model):
    """One process's CPU and memory in one minute (the last 24 h are kept). `cpu_ns` is the
    runtime's cumulative figure, kept so the next sample's rate can be computed from it;
    `cpu_millicores` is the rate since the previous sample (null for a process's first)."""

    id = models.BigAutoField(primary_key=True)
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="+")
    deployment_key = models.CharField(max_length=32)
    process_type = models.CharField(max_length=30)
    index = models.PositiveSmallIntegerField()
    at = models.DateTimeField()  # the minute (UTC, seconds zeroed)
    sampled_at = models.DateTimeField()  # the exact moment, for rates
    cpu_ns = models.BigIntegerField()
    cpu_millicores = models.PositiveIntegerField(null=True, blank=True)
    memory_bytes = models.BigIntegerField()
    memory_limit_bytes = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ("at", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["app", "deployment_key", "process_type", "index", "at"],
                name="processsample_unique",
            )
        ]
        indexes = [models.Index(fields=["app", "at"], name="processsample_app_at")]

    def __str__(self) -> str:
        return f"{self.app_id} {self.process_type}.{self.index} at {self.at}"
