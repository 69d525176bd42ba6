"""A tenant's life: slugs and schema names, create (from the template schema, fast at any
number of tenants), rename, delete (soft) and purge, transfer ownership, suspend and resume."""

from __future__ import annotations

import datetime as dt
import logging
import re
import time

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from apps.core.actor import SYSTEM, Actor
from apps.core.audit import audit_as
from apps.core.inbox import inbox_send
from apps.core.problems import Conflict, InvalidInput

from .. import events, selectors
from ..models import Domain, Invitation, InvitationStatus, Membership, Role, Tenant, TenantStatus
from ..provisioning import schema_create
from ._common import _require_role, _tenant_for_update

logger = logging.getLogger(__name__)

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$")
RESERVED_SLUGS = frozenset(
    {
        "admin",
        "api",
        "app",
        "apps",
        "auth",
        "billing",
        "console",
        "docs",
        "help",
        "login",
        "mail",
        "public",
        "quayside",
        "root",
        "signup",
        "static",
        "status",
        "support",
        "www",
    }
)


def schema_name_for(slug: str) -> str:
    return "t_" + slug.replace("-", "_")


def tenant_slug_validate(slug: str) -> str:
    slug = (slug or "").strip().lower()
    if not SLUG_PATTERN.match(slug) or "--" in slug:
        raise InvalidInput(
            "Use 3 to 40 lower-case letters, digits and single hyphens, "
            "starting and ending with a letter or digit.",
            field="slug",
        )
    if slug in RESERVED_SLUGS:
        raise InvalidInput(f"'{slug}' is reserved.", field="slug", code="reserved")
    return slug


@transaction.atomic
def tenant_create(*, name: str, slug: str, owner=None, actor: Actor = SYSTEM) -> Tenant:
    """Create a tenant with its schema, primary domain and (optionally) its owner's membership.

    Everything happens in one transaction: a failure leaves no row and no schema behind. Tenants
    are public-schema rows, so the work runs there whatever schema the caller is in (a request
    to a tenant's host or with X-Tenant-ID is in that tenant's schema)."""
    public = get_public_schema_name()
    if connection.schema_name != public:
        with schema_context(public):
            return tenant_create(name=name, slug=slug, owner=owner, actor=actor)
    slug = tenant_slug_validate(slug)
    name = tenant_name_validate(name)
    if Tenant.objects.filter(slug=slug).exists():
        raise InvalidInput(f"The slug '{slug}' is taken.", field="slug", code="taken")

    started = time.perf_counter()
    tenant = Tenant(name=name, slug=slug, schema_name=schema_name_for(slug))
    try:
        with transaction.atomic():
            tenant.save()
    except IntegrityError as exc:  # a concurrent request took the slug first
        raise InvalidInput(f"The slug '{slug}' is taken.", field="slug", code="taken") from exc
    Domain.objects.create(domain=f"{slug}.{settings.BASE_DOMAIN}", tenant=tenant, is_primary=True)
    path = schema_create(tenant)
    if path == "spare":
        _spares_refill_enqueue()
    tenant.status = TenantStatus.ACTIVE
    tenant.save(update_fields=["status", "updated_at"])
    if owner is not None:
        Membership.objects.create(tenant=tenant, user=owner, role=Role.OWNER)
    audit_as(
        actor if actor.kind != "system" else Actor(user=owner),
        "tenant.created",
        tenant=tenant,
        target=tenant,
        **{
            "slug": slug,
            "schema_path": path,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    events.tenant_event("tenant.created", tenant)
    return tenant


def tenant_name_validate(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput("A name of 1 to 100 characters is required.", field="name")
    return name


@transaction.atomic
def tenant_rename(*, tenant: Tenant, name: str, actor: Actor) -> Tenant:
    """Owners and admins rename their tenant; a suspended tenant cannot be renamed."""
    _require_role(actor.role, Role.ADMIN, "Only the owner or an admin can rename the tenant.")
    name = tenant_name_validate(name)
    locked = _tenant_for_update(tenant)
    if locked.name == name:
        return locked
    before = locked.name
    locked.name = name
    locked.save(update_fields=["name", "updated_at"])
    audit_as(
        actor,
        "tenant.renamed",
        tenant=locked,
        target=locked,
        **{"from": before, "to": name},
    )
    events.tenant_event("tenant.renamed", locked)
    return locked


@transaction.atomic
def tenant_delete(*, tenant: Tenant, actor: Actor) -> Tenant:
    """Soft-delete: the tenant answers 404 at once, pending invitations are revoked, members are
    told; the schema is dropped TENANT_PURGE_GRACE_DAYS later by the `tenants.purge_due` task.

    Allowed while suspended: deleting is how an owner leaves for good. The slug stays taken, so
    that old links and mail never reach a newcomer using the same name."""
    _require_role(actor.role, Role.OWNER, "Only the owner can delete the tenant.")
    locked = _tenant_for_update(tenant, allow_suspended=True)
    now = timezone.now()
    locked.status = TenantStatus.DELETED
    locked.deleted_at = now
    locked.save(update_fields=["status", "deleted_at", "updated_at"])
    revoked = Invitation.objects.filter(tenant=locked, status=InvitationStatus.PENDING).update(
        status=InvitationStatus.REVOKED, revoked_at=now, updated_at=now
    )
    purge_after = now + dt.timedelta(days=settings.TENANT_PURGE_GRACE_DAYS)
    audit_as(
        actor,
        "tenant.deleted",
        tenant=locked,
        target=locked,
        severity="warning",
        **{"invitations_revoked": revoked, "purge_after": purge_after.isoformat()},
    )
    events.tenant_event("tenant.deleted", locked)
    for membership in selectors.members_for_tenant(tenant=locked):
        if membership.user_id != actor.user_id:
            inbox_send(
                user=membership.user,
                kind="tenant.deleted",
                title=f"{locked.name} was deleted",
                body=f"{actor.display_name} deleted {locked.name}. Its data will be erased.",
                tenant=locked,
            )
    return locked


def tenant_purge(*, tenant_id) -> bool:
    """Erase a deleted tenant whose grace period is over: drop its schema, delete its domains,
    memberships and invitations; keep the row (status `deleted`, `purged_at` set) as a record.

    Idempotent and safe to run concurrently: a tenant already purged, not due, or being purged
    by another worker (row locked) is skipped. Returns whether this call purged it."""
    cutoff = timezone.now() - dt.timedelta(days=settings.TENANT_PURGE_GRACE_DAYS)
    with schema_context(get_public_schema_name()), transaction.atomic():
        tenant = (
            Tenant.objects.select_for_update(skip_locked=True)
            .filter(
                pk=tenant_id,
                status=TenantStatus.DELETED,
                purged_at__isnull=True,
                deleted_at__lte=cutoff,
            )
            .first()
        )
        if tenant is None:
            return False
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{tenant.schema_name}" CASCADE')
        counts = {
            "domains": Domain.objects.filter(tenant=tenant).delete()[0],
            "memberships": Membership.objects.filter(tenant=tenant).delete()[0],
            "invitations": Invitation.objects.filter(tenant=tenant).delete()[0],
        }
        tenant.purged_at = timezone.now()
        tenant.save(update_fields=["purged_at", "updated_at"])
        audit_as(
            SYSTEM,
            "tenant.purged",
            tenant=tenant,
            target=tenant,
            severity="warning",
            **{
                "schema": tenant.schema_name,
                "deleted_at": tenant.deleted_at.isoformat(),
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                **counts,
            },
        )
    logger.info("Purged tenant %s (schema %s)", tenant.slug, tenant.schema_name)
    return True


@transaction.atomic
def tenant_transfer_ownership(*, tenant: Tenant, user_id, actor: Actor) -> Tenant:
    """The owner hands the tenant to one of its admins; the old owner becomes an admin."""
    _require_role(actor.role, Role.OWNER, "Only the owner can transfer ownership.")
    locked = _tenant_for_update(tenant)
    owner = selectors.tenant_owner(tenant=locked)
    target = selectors.members_for_tenant(tenant=locked).filter(user_id=user_id).first()
    if target is None:
        raise InvalidInput("This user is not a member of the tenant.", field="user_id")
    if owner is not None and target.pk == owner.pk:
        raise Conflict("This user already owns the tenant.")
    if target.role != Role.ADMIN:
        raise Conflict(
            f"Ownership can only go to an admin; {target.user.email} is a {target.role}. "
            "Make them an admin first."
        )
    # Demote first: at most one owner row may exist at any moment (membership_one_owner).
    if owner is not None:
        owner.role = Role.ADMIN
        owner.save(update_fields=["role", "updated_at"])
    target.role = Role.OWNER
    target.save(update_fields=["role", "updated_at"])
    audit_as(
        actor,
        "tenant.ownership_transferred",
        tenant=locked,
        target=locked,
        severity="warning",
        **{
            "from_user_id": str(owner.user_id) if owner else None,
            "to_user_id": str(target.user_id),
        },
    )
    events.tenant_event("tenant.ownership_transferred", locked)
    inbox_send(
        user=target.user,
        kind="tenant.ownership_transferred",
        title=f"You now own {locked.name}",
        body=f"{actor.display_name} transferred the ownership of {locked.name} to you.",
        tenant=locked,
        data={"from_user_id": str(owner.user_id) if owner else None},
    )
    return locked


@transaction.atomic
def tenant_suspend(*, tenant: Tenant, reason: str = "", actor: Actor = SYSTEM) -> Tenant:
    """Suspend a tenant (an operator, or billing for an unpaid bill): it can be read, not changed.
    Idempotent: suspending a suspended tenant changes nothing (the first reason stays)."""
    locked = _tenant_for_update(tenant, allow_suspended=True)
    if locked.status == TenantStatus.SUSPENDED:
        return locked
    if locked.status != TenantStatus.ACTIVE:
        raise Conflict(f"A {locked.status} tenant cannot be suspended.")
    locked.status = TenantStatus.SUSPENDED
    locked.suspended_at = timezone.now()
    locked.suspension_reason = (reason or "").strip()[:200]
    locked.save(update_fields=["status", "suspended_at", "suspension_reason", "updated_at"])
    audit_as(
        actor,
        "tenant.suspended",
        tenant=locked,
        target=locked,
        severity="warning",
        **{"reason": locked.suspension_reason},
    )
    events.tenant_event("tenant.suspended", locked)
    _tell_owner(
        locked,
        kind="tenant.suspended",
        title=f"{locked.name} is suspended",
        body="It can be read but not changed until it is resumed."
        + (f" Reason: {locked.suspension_reason}" if locked.suspension_reason else ""),
    )
    return locked


@transaction.atomic
def tenant_resume(*, tenant: Tenant, actor: Actor = SYSTEM) -> Tenant:
    """Lift a suspension. Idempotent: resuming an active tenant changes nothing."""
    locked = _tenant_for_update(tenant, allow_suspended=True)
    if locked.status == TenantStatus.ACTIVE:
        return locked
    if locked.status != TenantStatus.SUSPENDED:
        raise Conflict(f"A {locked.status} tenant cannot be resumed.")
    suspended_at = locked.suspended_at
    locked.status = TenantStatus.ACTIVE
    locked.suspended_at = None
    locked.suspension_reason = ""
    locked.save(update_fields=["status", "suspended_at", "suspension_reason", "updated_at"])
    audit_as(
        actor,
        "tenant.resumed",
        tenant=locked,
        target=locked,
        **{"suspended_at": suspended_at.isoformat() if suspended_at else None},
    )
    events.tenant_event("tenant.resumed", locked)
    _tell_owner(locked, kind="tenant.resumed", title=f"{locked.name} is active again")
    return locked


def _tell_owner(tenant: Tenant, *, kind: str, title: str, body: str = "") -> None:
    owner = selectors.tenant_owner(tenant=tenant)
    if owner is not None:
        inbox_send(user=owner.user, kind=kind, title=title, body=body, tenant=tenant)


def _spares_refill_enqueue() -> None:
    from ..tasks import spares_fill

    transaction.on_commit(spares_fill.delay)
