"""Shapes of /api/v1/apps/{app_pk}/addons: never a credential, but in `reveal` and `sessions`."""

from __future__ import annotations

from rest_framework import serializers

from ..models import AddonKind, AddonStatus


class AddonOutput(serializers.Serializer):
    id = serializers.UUIDField()
    app_id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=AddonKind.choices)
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=AddonStatus.choices)
    status_detail = serializers.CharField()
    env_var = serializers.CharField()
    attached = serializers.BooleanField()
    size_mb = serializers.IntegerField(help_text="The plan's size for this add-on, MB.")
    size_used_bytes = serializers.IntegerField(allow_null=True)
    size_checked_at = serializers.DateTimeField(allow_null=True)
    read_only = serializers.BooleanField(help_text="Over its size: writes are refused.")
    server = serializers.CharField(help_text="local (Quayside's add-on servers) or external.")
    credentials_version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class AddonCreateInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AddonKind.choices)
    name = serializers.CharField(max_length=63, required=False, allow_blank=True, default="")
    env_var = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class AddonAttachInput(serializers.Serializer):
    env_var = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class AddonDestroyInput(serializers.Serializer):
    confirm = serializers.CharField(help_text="The add-on's name.")


class AddonRevealOutput(serializers.Serializer):
    env_var = serializers.CharField()
    url = serializers.CharField()


class AddonChangeOutput(serializers.Serializer):
    addon = AddonOutput()
    deployment_id = serializers.UUIDField(allow_null=True)


class SessionInput(serializers.Serializer):
    minutes = serializers.IntegerField(min_value=1, max_value=1440, required=False, default=0)


class SessionOutput(serializers.Serializer):
    url = serializers.CharField()
    user = serializers.CharField()
    expires_at = serializers.DateTimeField()
    server_version = serializers.CharField()
