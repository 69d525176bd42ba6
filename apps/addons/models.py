"""Add-ons: a PostgreSQL database or a Redis server attached to one app (tenant schema).

An add-on lives on servers of its own, never Quayside's: a database and a login role on the
add-on PostgreSQL cluster, or a redis-server of its own (docs/addons.md). Its credentials are
encrypted at rest (apps.core.crypto); the server-side names (database, roles, socket paths) are
kept in the clear so operators and the reconciler can find what belongs to whom."""

from __future__ import annotations

from django.db import models

from apps.core.models import TimeStampedModel


class AddonKind(models.TextChoices):
    POSTGRES = "postgres"
    REDIS = "redis"


class AddonStatus(models.TextChoices):
    PROVISIONING = "provisioning"
    AVAILABLE = "available"
    FAILED = "failed"
    DELETING = "deleting"


DEFAULT_ENV_VAR = {AddonKind.POSTGRES: "DATABASE_URL", AddonKind.REDIS: "REDIS_URL"}


class Addon(TimeStampedModel):
    """One add-on of one app. `env_var` is the variable its URL is set under on the app while
    it is attached (`attached`); detaching unsets it and keeps the data."""

    app = models.ForeignKey("deploy.App", on_delete=models.CASCADE, related_name="addons")
    kind = models.CharField(max_length=10, choices=AddonKind.choices)
    name = models.SlugField(max_length=63)
    status = models.CharField(
        max_length=20,
        choices=AddonStatus.choices,
        default=AddonStatus.PROVISIONING,
        db_index=True,
    )
    status_detail = models.CharField(max_length=500, blank=True)
    size_mb = models.PositiveIntegerField(help_text="The plan's limit when it was provisioned.")
    env_var = models.CharField(max_length=255)
    attached = models.BooleanField(default=True)
    # Fernet token of JSON {"user", "password"}: the login role (or Redis password) in force.
    credentials_encrypted = models.TextField(blank=True)
    credentials_version = models.PositiveIntegerField(default=1)
    # A rotation in progress: the credentials it replaces (dropped once the deployment that
    # carries the new ones is over) and that deployment.
    previous_credentials_encrypted = models.TextField(blank=True)
    rotation_deployment_id = models.UUIDField(null=True, blank=True)
    # Server side: postgres database + group role (`db_name`) and login role (`role_name`);
    # redis: `socket_path` (and `db_name` is its supervisord program / directory key).
    db_name = models.CharField(max_length=63, blank=True)
    role_name = models.CharField(max_length=63, blank=True)
    socket_path = models.CharField(max_length=255, blank=True)
    server = models.CharField(max_length=20, default="local", help_text="local or external")
    size_used_bytes = models.BigIntegerField(null=True, blank=True)
    size_checked_at = models.DateTimeField(null=True, blank=True)
    read_only = models.BooleanField(default=False, help_text="Over its size: writes refused.")
    warned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("created_at",)
        constraints = [
            models.UniqueConstraint(fields=["app", "name"], name="addon_unique_name_per_app"),
            models.UniqueConstraint(
                fields=["app", "env_var"],
                condition=models.Q(attached=True),
                name="addon_unique_env_var_per_app",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"
