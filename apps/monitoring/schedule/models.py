"""CheckSchedule: one row per active monitor of every tenant, in the public schema.

The scheduler finds due checks across all tenants with one query on `next_run_at` (see
apps/monitoring/scheduler.py), and heartbeat pings find their monitor by `ping_token` without
knowing the tenant. Rows are written by the monitoring services in the same transaction as the
monitor they index (the tenant schema's search path includes public)."""

from django.db import models
from django.db.models import Q


class CheckSchedule(models.Model):
    id = models.BigAutoField(primary_key=True)
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    monitor_id = models.UUIDField(unique=True)
    kind = models.CharField(max_length=20)
    interval_s = models.PositiveIntegerField()
    # Null: nothing to do until something happens (a heartbeat monitor before its first ping).
    next_run_at = models.DateTimeField(null=True, blank=True)
    ping_token = models.UUIDField(null=True, blank=True, unique=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_run_at"],
                condition=Q(next_run_at__isnull=False),
                name="checkschedule_due",
            ),
            models.Index(fields=["tenant"], name="checkschedule_tenant"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.monitor_id} at {self.next_run_at}"


class StatusPageRoute(models.Model):
    """Which tenant serves /status/<slug>/ on the root host (no tenant in that URL). Written by
    the status page services with the page, in the same transaction; the unique slug here is
    what makes status page slugs unique across tenants."""

    id = models.BigAutoField(primary_key=True)
    slug = models.CharField(max_length=50, unique=True)
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    page_id = models.UUIDField(unique=True)

    class Meta:
        indexes = [models.Index(fields=["tenant"], name="statuspageroute_tenant")]

    def __str__(self) -> str:
        return f"/status/{self.slug}/ -> {self.tenant_id}"
