"""Monitors, their results, hourly rollups, incidents, maintenance windows and alert channels.

All of these live in each tenant's schema; the cross-tenant schedule index is
apps.monitoring.schedule.models.CheckSchedule (public schema); status pages are found by slug
through schedule.models.StatusPageRoute."""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import models
from django.db.models import Q

from apps.core.models import TimeStampedModel

from .url_credentials import masked_url

# The settings of each kind of monitor (validation, the API's nested objects): data shape, so
# here rather than in services, which the serializers may not import.
HTTP_FIELDS = (
    "url", "method", "expected_status", "keyword", "keyword_mode", "json_path", "json_operator",
    "json_value", "max_response_ms", "verify_tls", "follow_redirects",
)  # fmt: skip
SOCKET_FIELDS = ("host", "port", "tls_expiry_days", "verify_tls")
# An email alert channel's recipients, at most.
MAX_EMAIL_RECIPIENTS = 10


class MonitorKind(models.TextChoices):
    HTTP = "http"
    TCP = "tcp"
    TLS = "tls"
    HEARTBEAT = "heartbeat"


class MonitorStatus(models.TextChoices):
    PENDING = "pending"  # no verdict yet (new, resumed, or a heartbeat never pinged)
    UP = "up"
    DOWN = "down"
    PAUSED = "paused"


class KeywordMode(models.TextChoices):
    PRESENT = "present"
    ABSENT = "absent"


class JsonOperator(models.TextChoices):
    EQ = "eq"
    NE = "ne"
    CONTAINS = "contains"
    GT = "gt"
    LT = "lt"
    EXISTS = "exists"


class HttpMethod(models.TextChoices):
    GET = "GET"
    HEAD = "HEAD"
    POST = "POST"


class Monitor(TimeStampedModel):
    # Optimistic locking (apps/core/versioning.py): moved by every edit, not by state changes.
    version = models.PositiveIntegerField(default=1, editable=False)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=MonitorKind.choices)
    # HTTP(S). `url` never holds Basic credentials: they are split off and kept encrypted in
    # `url_credentials_encrypted`; the URL is shown through `url_masked` (url_credentials.py).
    url = models.CharField(max_length=2000, blank=True)
    url_credentials_encrypted = models.TextField(blank=True, default="")
    method = models.CharField(max_length=8, choices=HttpMethod.choices, default=HttpMethod.GET)
    expected_status = models.JSONField(default=list, blank=True)  # ["200-299", "301"]
    keyword = models.CharField(max_length=500, blank=True)
    keyword_mode = models.CharField(
        max_length=10, choices=KeywordMode.choices, default=KeywordMode.PRESENT
    )
    json_path = models.CharField(max_length=200, blank=True)  # "data.items.0.state"
    json_operator = models.CharField(
        max_length=10, choices=JsonOperator.choices, default=JsonOperator.EQ
    )
    json_value = models.CharField(max_length=500, blank=True)
    max_response_ms = models.PositiveIntegerField(null=True, blank=True)
    verify_tls = models.BooleanField(default=True)
    follow_redirects = models.BooleanField(default=True)
    # TCP / TLS
    host = models.CharField(max_length=253, blank=True)
    port = models.PositiveIntegerField(null=True, blank=True)
    tls_expiry_days = models.PositiveIntegerField(default=14)
    # Heartbeat
    ping_token = models.UUIDField(null=True, blank=True, unique=True)
    period_s = models.PositiveIntegerField(null=True, blank=True)
    grace_s = models.PositiveIntegerField(null=True, blank=True)
    last_ping_at = models.DateTimeField(null=True, blank=True)
    last_start_at = models.DateTimeField(null=True, blank=True)
    # Scheduling and verdicts
    interval_s = models.PositiveIntegerField(default=60)
    timeout_s = models.PositiveIntegerField(default=10)
    failures_before_down = models.PositiveSmallIntegerField(default=1)
    successes_before_up = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(
        max_length=10, choices=MonitorStatus.choices, default=MonitorStatus.PENDING
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    fail_streak = models.PositiveIntegerField(default=0)
    ok_streak = models.PositiveIntegerField(default=0)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_response_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    # Uptime is accounted up to here, with `status` as the state since then (services.py).
    accounted_at = models.DateTimeField(null=True, blank=True)
    channels = models.ManyToManyField("AlertChannel", blank=True, related_name="monitors")
    created_by_id = models.UUIDField(null=True, blank=True)
    # Set on the monitor Quayside keeps for each deployed app (apps.monitoring.app_monitors).
    app_id = models.UUIDField(null=True, blank=True, unique=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["-created_at", "-id"], name="monitor_list")]

    def __str__(self) -> str:
        return self.name

    @property
    def paused(self) -> bool:
        return self.status == MonitorStatus.PAUSED

    @property
    def account_cap(self) -> dt.timedelta:
        """The longest stretch one verdict is credited for: past it (a scheduler outage) the
        time is neither up nor down, because nobody looked."""
        if self.kind == MonitorKind.HEARTBEAT:
            return dt.timedelta(seconds=2 * ((self.period_s or 0) + (self.grace_s or 0)))
        return dt.timedelta(seconds=2 * self.interval_s + self.timeout_s)

    @property
    def url_masked(self) -> str:
        return masked_url(self.url, has_credentials=bool(self.url_credentials_encrypted))


def new_ping_token() -> uuid.UUID:
    return uuid.uuid4()


class ResultSource(models.TextChoices):
    CHECK = "check"
    PING = "ping"
    PING_START = "ping_start"
    PING_FAIL = "ping_fail"
    LATE = "late"


class CheckResult(models.Model):
    """One check (or heartbeat event). Kept MONITORING_RESULTS_RETENTION_DAYS."""

    id = models.BigAutoField(primary_key=True)
    monitor = models.ForeignKey(
        Monitor, on_delete=models.CASCADE, related_name="results", db_index=False
    )
    checked_at = models.DateTimeField()
    ok = models.BooleanField()
    source = models.CharField(max_length=12, choices=ResultSource.choices)
    response_ms = models.PositiveIntegerField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    # Seconds since the scheduled time (scheduling lag), for checks.
    lag_ms = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ("-checked_at", "-id")
        indexes = [
            models.Index(fields=["monitor", "-checked_at", "-id"], name="result_monitor_time"),
            models.Index(fields=["checked_at"], name="result_time"),
        ]

    def __str__(self) -> str:
        return f"{self.monitor_id} {'ok' if self.ok else 'failed'} at {self.checked_at}"


class UptimeRollup(models.Model):
    """Per monitor and hour: seconds up, down and in maintenance (time-weighted), and response
    times. Written incrementally with each result; kept MONITORING_ROLLUP_RETENTION_DAYS."""

    id = models.BigAutoField(primary_key=True)
    monitor = models.ForeignKey(
        Monitor, on_delete=models.CASCADE, related_name="rollups", db_index=False
    )
    hour = models.DateTimeField()
    up_s = models.FloatField(default=0)
    down_s = models.FloatField(default=0)
    maintenance_s = models.FloatField(default=0)
    checks = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    response_ms_sum = models.BigIntegerField(default=0)
    response_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["monitor", "hour"], name="rollup_monitor_hour")
        ]
        indexes = [models.Index(fields=["hour"], name="rollup_hour")]

    def __str__(self) -> str:
        return f"{self.monitor_id} {self.hour:%Y-%m-%d %H}h"


class IncidentStatus(models.TextChoices):
    OPEN = "open"
    RESOLVED = "resolved"


class Incident(TimeStampedModel):
    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="incidents")
    status = models.CharField(
        max_length=10, choices=IncidentStatus.choices, default=IncidentStatus.OPEN
    )
    started_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    duration_s = models.PositiveIntegerField(null=True, blank=True)
    cause = models.CharField(max_length=500, blank=True)
    # Someone is on it (services.incident_acknowledge): who, when, and what they said.
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by_id = models.UUIDField(null=True, blank=True)
    acknowledge_note = models.TextField(max_length=2000, blank=True)
    # Resolved by a person (services.incident_resolve) rather than by an up check: who and why.
    resolved_by_id = models.UUIDField(null=True, blank=True)
    resolve_note = models.TextField(max_length=2000, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["monitor"], condition=Q(status="open"), name="incident_one_open"
            )
        ]

    def __str__(self) -> str:
        return f"{self.monitor_id} {self.status} since {self.started_at}"


class MaintenanceWindow(TimeStampedModel):
    """Alerts are silenced and uptime leaves the time out, for the chosen monitors (or all
    monitors when none are chosen)."""

    name = models.CharField(max_length=100)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    monitors = models.ManyToManyField(Monitor, blank=True, related_name="maintenance_windows")

    class Meta:
        ordering = ("-starts_at", "-id")
        indexes = [models.Index(fields=["ends_at"], name="maintenance_end")]

    def __str__(self) -> str:
        return self.name


class ChannelKind(models.TextChoices):
    EMAIL = "email"
    WEBHOOK = "webhook"
    SLACK = "slack"


class AlertChannel(TimeStampedModel):
    """Where alerts go. Monitors route to channels through Monitor.channels.

    `config` holds what may be shown: email {"to": [..]}, webhook/slack {"url_masked": ".."}.
    A webhook or Slack URL is a credential (whoever has it can post), so the URL itself is kept
    only in `secret_encrypted` (apps.core.crypto; decrypted by alerts.channel_url())."""

    # Optimistic locking (apps/core/versioning.py): moved by every edit, not by state changes.
    version = models.PositiveIntegerField(default=1, editable=False)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    config = models.JSONField(default=dict)
    secret_encrypted = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    created_by_id = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return self.name


class AlertLog(models.Model):
    """Each alert sent (or not): channel, event, outcome."""

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(auto_now_add=True)
    channel = models.ForeignKey(AlertChannel, null=True, on_delete=models.SET_NULL)
    monitor = models.ForeignKey(Monitor, null=True, on_delete=models.SET_NULL)
    incident = models.ForeignKey(Incident, null=True, on_delete=models.SET_NULL)
    event = models.CharField(max_length=40)
    ok = models.BooleanField(default=False)
    skipped = models.CharField(max_length=100, blank=True)  # "maintenance" or "silenced"
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["-created_at", "-id"], name="alertlog_list")]

    def __str__(self) -> str:
        return f"{self.event} via {self.channel_id}: {'ok' if self.ok else self.error or '-'}"


class Silence(TimeStampedModel):
    """Alerts for a monitor (or every monitor, when `monitor` is empty) are not sent between
    `starts_at` and `ends_at`; unlike maintenance, the time still counts for uptime."""

    monitor = models.ForeignKey(
        Monitor, null=True, blank=True, on_delete=models.CASCADE, related_name="silences"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=500, blank=True)
    created_by_id = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["ends_at"], name="silence_end")]

    def __str__(self) -> str:
        return f"silence {self.starts_at:%Y-%m-%d %H:%M} to {self.ends_at:%Y-%m-%d %H:%M}"


class StatusPage(TimeStampedModel):
    """A public page at /status/<slug>/ on the root host showing the chosen monitors. The slug
    is unique across tenants through the public index schedule.StatusPageRoute, which the
    services write in the same transaction."""

    # Optimistic locking (apps/core/versioning.py): moved by every edit, not by state changes.
    version = models.PositiveIntegerField(default=1, editable=False)
    slug = models.CharField(max_length=50, unique=True)
    title = models.CharField(max_length=100)
    description = models.TextField(max_length=2000, blank=True)
    # Maintenance notes or any announcement, shown at the top of the page.
    announcement = models.TextField(max_length=2000, blank=True)
    public = models.BooleanField(default=True)
    monitors = models.ManyToManyField(
        Monitor, through="StatusPageMonitor", related_name="status_pages", blank=True
    )
    created_by_id = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["-created_at", "-id"], name="statuspage_list")]

    def __str__(self) -> str:
        return self.title


class StatusPageMonitor(models.Model):
    """A monitor shown on a status page, at `position` (0 first)."""

    id = models.BigAutoField(primary_key=True)
    page = models.ForeignKey(StatusPage, on_delete=models.CASCADE, related_name="entries")
    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ("position", "id")
        constraints = [
            models.UniqueConstraint(fields=["page", "monitor"], name="statuspage_monitor_once")
        ]

    def __str__(self) -> str:
        return f"{self.page_id} #{self.position}: {self.monitor_id}"
