import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_tenants.models import DomainMixin, TenantMixin

from apps.core.models import TimeStampedModel


class TenantStatus(models.TextChoices):
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DELETED = "deleted"


class Tenant(TenantMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    status = models.CharField(
        max_length=20,
        choices=TenantStatus.choices,
        default=TenantStatus.PROVISIONING,
        db_index=True,
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Schemas are made by apps.tenants.provisioning, never as a side effect of save().
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class Domain(DomainMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.domain


class Role(models.TextChoices):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


class Membership(TimeStampedModel):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique"),
            models.UniqueConstraint(
                fields=["tenant"], condition=Q(role="owner"), name="membership_one_owner"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant} ({self.role})"


class SchemaTemplate(models.Model):
    """The SQL that makes a tenant schema, rendered once per state of the migration graph.

    Replaying it (schema name rewritten) in one transaction is how tenants are created; see
    apps/tenants/schema_template.py."""

    fingerprint = models.CharField(max_length=64, unique=True)
    sql = models.TextField()
    migration_count = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"template {self.fingerprint[:12]} ({self.migration_count} migrations)"
