import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from apps.core.models import TimeStampedModel


class User(AbstractUser):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField("email address")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email or self.username


class ApiKeyAuthority(models.TextChoices):
    """What a key may do in its tenant: the rank of the tenant role of the same name."""

    ADMIN = "admin"
    MEMBER = "member"


class ApiKeyStatus(models.TextChoices):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


class ApiKey(TimeStampedModel):
    """A tenant's API key (public schema). The raw key (`qs_` + random) is shown once, when the
    key is made; the database keeps its SHA-256 and, for people to recognise it, its first and
    last characters. Made and revoked only through apps.accounts.services."""

    # Indexed by `apikey_tenant_time` (tenant first), which also serves the foreign key.
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="api_keys", db_index=False
    )
    name = models.CharField(max_length=100)
    authority = models.CharField(max_length=10, choices=ApiKeyAuthority.choices)
    prefix = models.CharField(max_length=16)
    last8 = models.CharField(max_length=8)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="api_keys_created",
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # Agent keys: the names of the operations (apps/operations registry) this key may run, on
    # every endpoint; empty means no restriction beyond its authority. See docs/agents.md.
    allowed_operations = models.JSONField(default=list, blank=True)

    # Read by apps.tenants.permissions and apps.core.api.principals through `request.auth`.
    is_api_key = True

    class Meta:
        verbose_name = "API key"
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["tenant", "-created_at"], name="apikey_tenant_time")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(authority__in=ApiKeyAuthority.values),
                name="apikey_authority_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def throttle_ident(self) -> str:
        return f"key:{self.pk}"

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return ApiKeyStatus.REVOKED
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return ApiKeyStatus.EXPIRED
        return ApiKeyStatus.ACTIVE

    @property
    def is_active(self) -> bool:
        return self.status == ApiKeyStatus.ACTIVE
