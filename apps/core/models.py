import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class TimeStampedModel(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AuditSeverity(models.TextChoices):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AuditEvent(models.Model):
    """One thing somebody did. Append-only: a database trigger refuses UPDATE and DELETE.

    Actor and tenant are kept as plain ids plus a label, not foreign keys, so that the trail
    outlives the users, keys and tenants it mentions."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Indexed by `audit_action` (pattern ops: exact match and `member.*` prefixes alike).
    action = models.CharField(max_length=100)
    severity = models.CharField(
        max_length=10, choices=AuditSeverity.choices, default=AuditSeverity.INFO
    )
    actor_user_id = models.UUIDField(null=True, blank=True, db_index=True)
    actor_api_key_id = models.UUIDField(null=True, blank=True)
    actor_label = models.CharField(max_length=255, blank=True)
    tenant_id = models.UUIDField(null=True, blank=True, db_index=True)
    tenant_label = models.CharField(max_length=100, blank=True)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("-created_at",)
        indexes = [
            models.Index(fields=["tenant_id", "-created_at"], name="audit_tenant_time"),
            models.Index(fields=["action"], name="audit_action", opclasses=["varchar_pattern_ops"]),
            models.Index(
                fields=["actor_api_key_id"],
                name="audit_api_key",
                condition=Q(actor_api_key_id__isnull=False),
            ),
            models.Index(fields=["target_type", "target_id"], name="audit_target"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} by {self.actor_label or '-'}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)


class InboxMessage(TimeStampedModel):
    """A message for one user (invited, role changed, removed, billing notices, ...).

    Any app sends through apps.core.inbox.inbox_send(). Like AuditEvent, the tenant is kept as a
    plain id plus labels, so that core imports no app and messages outlive purged tenants."""

    # Indexed by `inbox_user_time` (user first), which also serves the foreign key.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="inbox_messages",
        db_index=False,
    )
    kind = models.CharField(max_length=100)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    tenant_id = models.UUIDField(null=True, blank=True)
    tenant_slug = models.CharField(max_length=100, blank=True)
    tenant_name = models.CharField(max_length=100, blank=True)
    data = models.JSONField(default=dict, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="inbox_user_time"),
            models.Index(
                fields=["user"], condition=Q(read_at__isnull=True), name="inbox_user_unread"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}: {self.title}"


class OutboxEvent(models.Model):
    """A domain event (`<entity>.<past tense>`), written in the same transaction as the change
    it tells of, and handed to the consumers in settings.OUTBOX_CONSUMERS (webhook delivery,
    automatic monitors, ...) by apps.core.outbox.outbox_dispatch, in order, exactly once.

    Like AuditEvent, the tenant is a plain id, so core imports no app."""

    id = models.BigAutoField(primary_key=True)
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)  # the public event id
    created_at = models.DateTimeField(auto_now_add=True)
    tenant_id = models.UUIDField(null=True, blank=True)
    type = models.CharField(max_length=100)
    data = models.JSONField(default=dict)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # {consumer path: error} for consumers that could not take this event (logged too).
    errors = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("id",)
        indexes = [
            models.Index(
                fields=["id"], condition=Q(dispatched_at__isnull=True), name="outbox_pending"
            ),
            models.Index(fields=["created_at"], name="outbox_time"),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.id}"


class ConfigVariable(TimeStampedModel):
    """An operator's override of a platform config variable (apps/core/config_vars.py declares
    them, with their types and defaults). A variable without a row has its default."""

    name = models.CharField(max_length=100, unique=True)
    value = models.JSONField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ("name",)
        verbose_name = "platform config variable"

    def __str__(self) -> str:
        return f"{self.name} = {self.value!r}"


class NodeKind(models.TextChoices):
    WORKER = "worker"
    RUNTIME = "runtime"
    WEB = "web"
    BEAT = "beat"


class Node(models.Model):
    """One process or host that reports in: each Celery worker and beat, and the runtime host.

    Rows are upserted by name (`apps.core.nodes.node_report`), one statement per report; a node
    whose `last_seen_at` is older than NODE_STALE_AFTER_S is stale, and stale rows older than
    NODE_PRUNE_AFTER_DAYS are deleted by the `core.nodes_prune` beat task."""

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=10, choices=NodeKind.choices)
    hostname = models.CharField(max_length=255, blank=True)
    pid = models.IntegerField(null=True, blank=True)
    version = models.CharField(max_length=50, blank=True)
    cpu_pct = models.FloatField(null=True, blank=True)
    memory_rss_bytes = models.BigIntegerField(null=True, blank=True)
    memory_pct = models.FloatField(null=True, blank=True)
    load_1m = models.FloatField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(db_index=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("kind", "name")

    def __str__(self) -> str:
        return self.name

    @property
    def age_s(self) -> float:
        return (timezone.now() - self.last_seen_at).total_seconds()

    @property
    def is_stale(self) -> bool:
        return self.age_s > settings.NODE_STALE_AFTER_S


class DailyMetric(models.Model):
    """One figure of one day for the operator dashboard's charts (`apps.core.daily_metrics`).

    Written by the `core.collect_daily_metrics` beat task from the collectors the domain apps
    register (sign-ups, MRR, deployments, checks per minute, failed webhook deliveries), upserted
    so a re-run overwrites, and kept DAILY_METRICS_RETENTION_DAYS (400). `dimension` splits a
    series when one number is not enough (MRR per currency); empty otherwise."""

    day = models.DateField()
    name = models.CharField(max_length=50)
    dimension = models.CharField(max_length=50, blank=True, default="")
    value = models.FloatField()
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("day", "name", "dimension")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "name", "dimension"], name="dailymetric_day_name_dimension"
            )
        ]

    def __str__(self) -> str:
        suffix = f" [{self.dimension}]" if self.dimension else ""
        return f"{self.day} {self.name}{suffix} = {self.value:g}"
