"""Shapes of /api/v1/webhook-endpoints… (docs/webhooks.md). Secrets appear only in the answers
that create them (create, rotate-secret)."""

from __future__ import annotations

import json

from rest_framework import serializers

from apps.core.api.versioning import version_field

from ..models import WebhookAttemptTrigger, WebhookMessageStatus


class WebhookEndpointOutput(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.CharField()
    description = serializers.CharField()
    event_types = serializers.ListField(
        child=serializers.CharField(), help_text="Patterns; empty means every event type."
    )
    enabled = serializers.BooleanField()
    disabled_reason = serializers.CharField(help_text="Why it was disabled (empty when enabled).")
    disabled_at = serializers.DateTimeField(allow_null=True)
    secret_last8 = serializers.CharField(help_text="The last 8 characters of the secret.")
    previous_secret_expires_at = serializers.DateTimeField(
        allow_null=True,
        help_text="After a rotation: until then the previous secret signs too.",
    )
    failing_since = serializers.DateTimeField(
        allow_null=True, help_text="First failed attempt since the last success."
    )
    last_success_at = serializers.DateTimeField(allow_null=True)
    version = version_field()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class WebhookEndpointWithSecretOutput(WebhookEndpointOutput):
    secret = serializers.CharField(
        help_text="whsec_…: shown in this answer only. Verify signatures with it."
    )


class WebhookEndpointCreateInput(serializers.Serializer):
    url = serializers.URLField(max_length=2000)
    description = serializers.CharField(max_length=500, allow_blank=True, default="")
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=100),
        default=list,
        help_text="Event types, `<entity>.*` or `*`; empty means all.",
    )
    enabled = serializers.BooleanField(default=True)


class WebhookEndpointUpdateInput(serializers.Serializer):
    url = serializers.URLField(max_length=2000, required=False)
    description = serializers.CharField(max_length=500, allow_blank=True, required=False)
    event_types = serializers.ListField(child=serializers.CharField(max_length=100),
                                        required=False)  # fmt: skip
    enabled = serializers.BooleanField(required=False)


class WebhookAttemptOutput(serializers.Serializer):
    id = serializers.IntegerField()
    attempted_at = serializers.DateTimeField()
    ok = serializers.BooleanField(help_text="Only a 2xx answer counts.")
    status_code = serializers.IntegerField(allow_null=True)
    duration_ms = serializers.IntegerField()
    response_excerpt = serializers.CharField(help_text="The first 1 KB of the answer.")
    error = serializers.CharField()
    trigger = serializers.ChoiceField(choices=WebhookAttemptTrigger.choices)


class WebhookMessageOutput(serializers.Serializer):
    id = serializers.CharField(source="msg_id", help_text="The webhook-id header.")
    event_type = serializers.CharField()
    status = serializers.ChoiceField(choices=WebhookMessageStatus.choices)
    attempts_count = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField()
    created_at = serializers.DateTimeField()
    payload = serializers.SerializerMethodField()
    attempts = WebhookAttemptOutput(many=True, help_text="Newest first.")

    def get_payload(self, message) -> dict:
        return json.loads(message.body)


class WebhookReplayInput(serializers.Serializer):
    since = serializers.DateTimeField(help_text="Messages created at or after this time.")
    only_failed = serializers.BooleanField(default=False)


class WebhookReplayOutput(serializers.Serializer):
    status = serializers.CharField(help_text="queued")
    since = serializers.DateTimeField()
    only_failed = serializers.BooleanField()
    messages = serializers.IntegerField(help_text="How many messages were queued again.")


class WebhookEventTypeOutput(serializers.Serializer):
    type = serializers.CharField()
    description = serializers.CharField()
