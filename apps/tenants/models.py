import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
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
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspension_reason = models.CharField(max_length=200, blank=True)
    # Soft deletion: routes answer 404 from `deleted_at`; the schema is dropped after
    # TENANT_PURGE_GRACE_DAYS, when `purged_at` is set and the row is kept as a record.
    deleted_at = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)
    # Limits by name ({"users": 10, ...}): `entitlements` is written by billing from the plan,
    # `entitlement_overrides` by operators. Read them only through selectors.tenant_limit().
    entitlements = models.JSONField(default=dict, blank=True)
    entitlement_overrides = models.JSONField(default=dict, blank=True)

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


class InvitationStatus(models.TextChoices):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"
    # A pending invitation past `expires_at` reads as expired at once; the stored status follows
    # when something touches it (a new invitation for the same address, an acceptance attempt).
    EXPIRED = "expired"


class Invitation(TimeStampedModel):
    """An invitation to join a tenant, sent by mail as a one-time link.

    The link's token is never stored: it is derived from SECRET_KEY, the id and `token_nonce`
    (see services.invitation_token), and only its SHA-256 is kept, to find the invitation."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices)
    status = models.CharField(
        max_length=10, choices=InvitationStatus.choices, default=InvitationStatus.PENDING
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_nonce = models.CharField(max_length=32, editable=False)
    # The token_hash last mailed: the mail task sends each token at most once.
    mailed_token_hash = models.CharField(max_length=64, blank=True, editable=False)
    mailed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitations_sent",
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["tenant", "status", "-created_at"], name="invitation_tenant_list"),
        ]
        constraints = [
            models.UniqueConstraint(
                F("tenant"),
                Lower("email"),
                condition=Q(status="pending"),
                name="invitation_one_pending_per_email",
            ),
            models.CheckConstraint(condition=~Q(role="owner"), name="invitation_never_for_owner"),
        ]

    def __str__(self) -> str:
        return f"{self.email} -> {self.tenant} ({self.role}, {self.current_status})"

    @property
    def current_status(self) -> str:
        """The status as a client sees it: a pending invitation past its expiry is expired."""
        if self.status == InvitationStatus.PENDING and self.expires_at <= timezone.now():
            return InvitationStatus.EXPIRED
        return self.status


class SpareSchema(models.Model):
    """A tenant schema made ahead of time from the current render, waiting for a tenant.

    Taking one is a rename (under 1 ms) instead of replaying the render (about 80 ms with 20
    tables); a worker keeps TENANT_SPARE_SCHEMAS of them ready. See apps/tenants/provisioning.py."""

    name = models.CharField(max_length=63, unique=True)
    fingerprint = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name
