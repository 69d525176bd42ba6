"""Shapes of GET /api/v1/apps/{id}/metrics: each process's CPU and memory, minute by minute,
over the last 24 hours at most."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from rest_framework import serializers

from ..usage_selectors import HISTORY
from .serializers import ProcessExitOutput

MAX_MINUTES = int(HISTORY.total_seconds() // 60)  # 1440
# A process type (Procfile names), optionally with its index: "web" or "web.1".
PROCESS = r"^(?P<type>[a-z][a-z0-9_-]{0,29})(\.(?P<index>[0-9]{1,2}))?$"
CLOCK_SKEW = dt.timedelta(minutes=1)


class MetricsQueryInput(serializers.Serializer):
    minutes = serializers.IntegerField(
        required=False,
        default=60,
        min_value=1,
        max_value=MAX_MINUTES,
        help_text=f"How far back (60; at most {MAX_MINUTES}: samples are kept 24 hours).",
    )
    since = serializers.DateTimeField(
        required=False,
        help_text="From when (ISO 8601, within the last 24 hours); wins over `minutes`.",
    )
    process = serializers.RegexField(
        PROCESS,
        required=False,
        help_text="Only one process type (`web`), or one process (`web.0`).",
        error_messages={"invalid": "A process type such as `web`, or `web.0` for one process."},
    )

    def validate_since(self, value: dt.datetime) -> dt.datetime:
        now = timezone.now()
        if value > now + CLOCK_SKEW:
            raise serializers.ValidationError("`since` is in the future.")
        if value < now - HISTORY - CLOCK_SKEW:
            raise serializers.ValidationError(
                "Samples are kept for 24 hours: `since` must be within the last 24 hours."
            )
        return value


class MetricsPointOutput(serializers.Serializer):
    at = serializers.DateTimeField(help_text="The minute (UTC).")
    cpu_millicores = serializers.IntegerField(
        allow_null=True,
        help_text="CPU used over the minute before (1000: one core busy); null for a "
        "process's first sample.",
    )
    memory_bytes = serializers.IntegerField(help_text="Memory in use at that moment.")


class MetricsSeriesOutput(serializers.Serializer):
    type = serializers.CharField()
    index = serializers.IntegerField()
    deployment_key = serializers.CharField(
        help_text="The deployment the process belongs to: a redeploy starts new series."
    )
    memory_limit_bytes = serializers.IntegerField(allow_null=True)
    points = MetricsPointOutput(many=True)


class MetricsLimitsOutput(serializers.Serializer):
    memory_mb = serializers.IntegerField(help_text="Memory per process.")
    cpu_millicores = serializers.IntegerField(help_text="CPU per process.")


class MetricsOutput(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    resolution_s = serializers.IntegerField(help_text="Seconds between points (60).")
    limits = MetricsLimitsOutput(help_text="What each process may use now.")
    processes = MetricsSeriesOutput(many=True)
    exits = ProcessExitOutput(
        many=True, help_text="Exits in the window (the newest 200), oldest first."
    )
