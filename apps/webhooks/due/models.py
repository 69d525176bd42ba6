"""WebhookDue: the index of outgoing webhook messages waiting for an attempt, in the public
schema (so one query finds due messages across all tenants). Written by apps.webhooks' services
in the same transaction as the messages (the tenant schema's search path includes public).
Its table was made by apps.monitoring.schedule before webhooks had an app of their own."""

from django.db import models


class WebhookDue(models.Model):
    """One row per outgoing webhook message waiting for an attempt, across all tenants (the
    message itself lives in the tenant's schema). Claimed like CheckSchedule: due rows `FOR
    UPDATE SKIP LOCKED`, and the claim moves `due_at` one lease on and stamps `lease`, so a
    worker that dies mid-batch leaves the row due again after WEBHOOKS_LEASE_S, and a worker
    whose lease was taken over cannot write its result over the newer one's
    (apps/webhooks/delivery.py)."""

    id = models.BigAutoField(primary_key=True)
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    message_id = models.BigIntegerField()
    # The message's endpoint: a claim takes only a few rows per endpoint and none of an
    # endpoint the runner already has enough of in flight, so one slow receiver cannot fill
    # a runner and hold up everybody else's messages.
    endpoint_id = models.UUIDField()
    due_at = models.DateTimeField()
    lease = models.UUIDField(null=True, blank=True)
    trigger = models.CharField(max_length=10, default="scheduled")

    class Meta:
        db_table = "monitoring_schedule_webhookdue"  # made before the move to apps.webhooks
        constraints = [
            models.UniqueConstraint(fields=["tenant", "message_id"], name="webhookdue_message")
        ]
        indexes = [models.Index(fields=["due_at"], name="webhookdue_due")]

    def __str__(self) -> str:
        return f"message {self.message_id} of {self.tenant_id} at {self.due_at}"
