"""Outgoing webhooks (Standard Webhooks, docs/webhooks.md): the endpoints a tenant registers,
one message per event and endpoint, and one attempt per HTTP request. They live in each tenant's
schema, in the tables apps.monitoring made before they moved here (`db_table`); the public due
index is apps.webhooks.due.models.WebhookDue."""

from __future__ import annotations

from django.db import models

from apps.core.models import TimeStampedModel


class WebhookEndpoint(TimeStampedModel):
    """Where a tenant's events go. The secret (`whsec_…`) is stored encrypted
    (apps.core.crypto) and shown once; during a rotation the previous one signs too, until
    `previous_secret_expires_at`."""

    # Optimistic locking (apps/core/versioning.py): moved by every edit, not by state changes.
    version = models.PositiveIntegerField(default=1, editable=False)
    url = models.CharField(max_length=2000)
    description = models.CharField(max_length=500, blank=True)
    # Patterns (`monitor.down`, `deployment.*`, `*`); empty means every event type.
    event_types = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    secret_encrypted = models.TextField()
    secret_last8 = models.CharField(max_length=8)
    previous_secret_encrypted = models.TextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Set by the first failed attempt after a success; cleared by the next success.
    failing_since = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    created_by_id = models.UUIDField(null=True, blank=True)

    class Meta:
        db_table = "monitoring_webhookendpoint"  # made by apps.monitoring before the move
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return self.url


class WebhookMessageStatus(models.TextChoices):
    PENDING = "pending"  # due now or at next_attempt_at
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # retries exhausted, endpoint disabled, or a test send that failed


class WebhookMessage(models.Model):
    """One event for one endpoint. `msg_id` is the `webhook-id` header: the same on every
    attempt and replay, so receivers can de-duplicate. `body` is the exact JSON sent."""

    id = models.BigAutoField(primary_key=True)
    msg_id = models.CharField(max_length=40, unique=True)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    event_uid = models.UUIDField(null=True, blank=True)  # the outbox event; null for tests
    event_type = models.CharField(max_length=100)
    body = models.TextField()
    created_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=WebhookMessageStatus.choices, default=WebhookMessageStatus.PENDING
    )
    attempts_count = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        db_table = "monitoring_webhookmessage"  # made by apps.monitoring before the move
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["event_uid", "endpoint"], name="webhookmessage_event_endpoint"
            )
        ]
        indexes = [
            models.Index(fields=["endpoint", "-created_at", "-id"], name="webhookmessage_list"),
            models.Index(fields=["created_at"], name="webhookmessage_time"),  # purge
        ]

    def __str__(self) -> str:
        return f"{self.msg_id} {self.event_type} {self.status}"


class WebhookAttemptTrigger(models.TextChoices):
    SCHEDULED = "scheduled"  # first send or a retry
    REPLAY = "replay"
    TEST = "test"


class WebhookAttempt(models.Model):
    """One HTTP request of a message: what came back (or what went wrong) and how long."""

    id = models.BigAutoField(primary_key=True)
    message = models.ForeignKey(WebhookMessage, on_delete=models.CASCADE, related_name="attempts")
    attempted_at = models.DateTimeField()
    ok = models.BooleanField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.CharField(max_length=1024, blank=True)
    error = models.CharField(max_length=500, blank=True)
    trigger = models.CharField(
        max_length=10,
        choices=WebhookAttemptTrigger.choices,
        default=WebhookAttemptTrigger.SCHEDULED,
    )

    class Meta:
        db_table = "monitoring_webhookattempt"  # made by apps.monitoring before the move
        ordering = ("-attempted_at", "-id")

    def __str__(self) -> str:
        return f"{self.message_id} {self.status_code or self.error} at {self.attempted_at}"
