import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


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
    action = models.CharField(max_length=100, db_index=True)
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
        indexes = [models.Index(fields=["tenant_id", "-created_at"], name="audit_tenant_time")]

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
