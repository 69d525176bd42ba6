"""Writes of the tenants app: tenant lifecycle, limits, members, invitations.

Every function is one use case in one transaction that audits what it changed. Role rules live
here, not in views: `actor_role` is the caller's role in the tenant (owner, admin, member,
viewer; an API key's authority; `admin` for operators), and `actor`/`api_key` say who for the
audit log."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import secrets
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django_tenants.utils import get_public_schema_name, schema_context

from apps.core.audit import audit_record
from apps.core.inbox import inbox_send
from apps.core.problems import (
    ApplicationError,
    Conflict,
    InvalidInput,
    QuotaExceeded,
    TenantSuspended,
)

from . import events, selectors
from .models import (
    Domain,
    Invitation,
    InvitationStatus,
    Membership,
    Role,
    Tenant,
    TenantStatus,
)
from .provisioning import schema_create
from .roles import role_at_least

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
def tenant_create(*, name: str, slug: str, owner=None, actor=None) -> Tenant:
    """Create a tenant with its schema, primary domain and (optionally) its owner's membership.

    Everything happens in one transaction: a failure leaves no row and no schema behind."""
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
    audit_record(
        action="tenant.created",
        actor=actor or owner,
        tenant=tenant,
        target=tenant,
        metadata={
            "slug": slug,
            "schema_path": path,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    events.tenant_event("tenant.created", tenant)
    return tenant


# --- Errors ---------------------------------------------------------------------------------


class NotFound(ApplicationError):
    status = 404
    slug = "not-found"


class RoleForbids(ApplicationError):
    """The caller's role in the tenant does not allow this change."""

    status = 403
    slug = "permission-denied"


def _tenant_for_update(
    tenant: Tenant, *, allow_suspended: bool = False, allow_deleted: bool = False
) -> Tenant:
    """Lock the tenant row: changes to one tenant's people and lifecycle happen one at a time,
    so two requests cannot both take the last seat or both transfer ownership."""
    locked = Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
    if locked is None or (locked.status == TenantStatus.DELETED and not allow_deleted):
        raise NotFound("No such tenant.")
    if locked.status == TenantStatus.SUSPENDED and not allow_suspended:
        raise TenantSuspended("This tenant is suspended: it can be read but not changed.")
    return locked


def _require_role(actor_role: str | None, minimum: str, message: str) -> None:
    if not role_at_least(actor_role, minimum):
        raise RoleForbids(message)


def _user_label(user) -> str:
    """Who did something, for people to read; None is Quayside itself (a task, billing)."""
    return (getattr(user, "email", "") or str(user)) if user is not None else "Quayside"


# --- Tenant lifecycle -----------------------------------------------------------------------


def tenant_name_validate(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput("A name of 1 to 100 characters is required.", field="name")
    return name


@transaction.atomic
def tenant_rename(
    *, tenant: Tenant, name: str, actor_role: str, actor=None, api_key=None
) -> Tenant:
    """Owners and admins rename their tenant; a suspended tenant cannot be renamed."""
    _require_role(actor_role, Role.ADMIN, "Only the owner or an admin can rename the tenant.")
    name = tenant_name_validate(name)
    locked = _tenant_for_update(tenant)
    if locked.name == name:
        return locked
    before = locked.name
    locked.name = name
    locked.save(update_fields=["name", "updated_at"])
    audit_record(
        action="tenant.renamed",
        actor=actor,
        api_key=api_key,
        tenant=locked,
        target=locked,
        metadata={"from": before, "to": name},
    )
    events.tenant_event("tenant.renamed", locked)
    return locked


@transaction.atomic
def tenant_delete(*, tenant: Tenant, actor_role: str, actor=None) -> Tenant:
    """Soft-delete: the tenant answers 404 at once, pending invitations are revoked, members are
    told; the schema is dropped TENANT_PURGE_GRACE_DAYS later by the `tenants.purge_due` task.

    Allowed while suspended: deleting is how an owner leaves for good. The slug stays taken, so
    that old links and mail never reach a newcomer using the same name."""
    _require_role(actor_role, Role.OWNER, "Only the owner can delete the tenant.")
    locked = _tenant_for_update(tenant, allow_suspended=True)
    now = timezone.now()
    locked.status = TenantStatus.DELETED
    locked.deleted_at = now
    locked.save(update_fields=["status", "deleted_at", "updated_at"])
    revoked = Invitation.objects.filter(tenant=locked, status=InvitationStatus.PENDING).update(
        status=InvitationStatus.REVOKED, revoked_at=now, updated_at=now
    )
    purge_after = now + dt.timedelta(days=settings.TENANT_PURGE_GRACE_DAYS)
    audit_record(
        action="tenant.deleted",
        actor=actor,
        tenant=locked,
        target=locked,
        severity="warning",
        metadata={"invitations_revoked": revoked, "purge_after": purge_after.isoformat()},
    )
    events.tenant_event("tenant.deleted", locked)
    for membership in selectors.members_for_tenant(tenant=locked):
        if membership.user_id != getattr(actor, "pk", None):
            inbox_send(
                user=membership.user,
                kind="tenant.deleted",
                title=f"{locked.name} was deleted",
                body=f"{_user_label(actor)} deleted {locked.name}. Its data will be erased.",
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
        audit_record(
            action="tenant.purged",
            tenant=tenant,
            target=tenant,
            severity="warning",
            metadata={
                "schema": tenant.schema_name,
                "deleted_at": tenant.deleted_at.isoformat(),
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                **counts,
            },
        )
    logger.info("Purged tenant %s (schema %s)", tenant.slug, tenant.schema_name)
    return True


@transaction.atomic
def tenant_transfer_ownership(*, tenant: Tenant, user_id, actor_role: str, actor=None) -> Tenant:
    """The owner hands the tenant to one of its admins; the old owner becomes an admin."""
    _require_role(actor_role, Role.OWNER, "Only the owner can transfer ownership.")
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
    audit_record(
        action="tenant.ownership_transferred",
        actor=actor,
        tenant=locked,
        target=locked,
        severity="warning",
        metadata={
            "from_user_id": str(owner.user_id) if owner else None,
            "to_user_id": str(target.user_id),
        },
    )
    events.tenant_event("tenant.ownership_transferred", locked)
    inbox_send(
        user=target.user,
        kind="tenant.ownership_transferred",
        title=f"You now own {locked.name}",
        body=f"{_user_label(actor)} transferred the ownership of {locked.name} to you.",
        tenant=locked,
        data={"from_user_id": str(owner.user_id) if owner else None},
    )
    return locked


@transaction.atomic
def tenant_suspend(*, tenant: Tenant, reason: str = "", actor=None) -> Tenant:
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
    audit_record(
        action="tenant.suspended",
        actor=actor,
        tenant=locked,
        target=locked,
        severity="warning",
        metadata={"reason": locked.suspension_reason},
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
def tenant_resume(*, tenant: Tenant, actor=None) -> Tenant:
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
    audit_record(
        action="tenant.resumed",
        actor=actor,
        tenant=locked,
        target=locked,
        metadata={"suspended_at": suspended_at.isoformat() if suspended_at else None},
    )
    events.tenant_event("tenant.resumed", locked)
    _tell_owner(locked, kind="tenant.resumed", title=f"{locked.name} is active again")
    return locked


def _tell_owner(tenant: Tenant, *, kind: str, title: str, body: str = "") -> None:
    owner = selectors.tenant_owner(tenant=tenant)
    if owner is not None:
        inbox_send(user=owner.user, kind=kind, title=title, body=body, tenant=tenant)


# --- Limits ---------------------------------------------------------------------------------

LIMIT_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _limits_validate(values: dict[str, Any], *, field: str, allow_null: bool) -> None:
    for name, value in values.items():
        if not isinstance(name, str) or not LIMIT_NAME_PATTERN.match(name):
            raise InvalidInput(
                f"'{name}' is not a limit name (lower-case letters, digits, underscores).",
                field=field,
            )
        if value is None and allow_null:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInput(f"The limit '{name}' must be a whole number >= 0.", field=field)


@transaction.atomic
def tenant_entitlements_set(
    *, tenant: Tenant, entitlements: dict[str, int | None], actor=None
) -> Tenant:
    """Replace the plan's limits (billing calls this when a tenant's plan changes). A null
    value means the plan sets no limit of that name."""
    _limits_validate(entitlements, field="entitlements", allow_null=True)
    # Deleted tenants too: billing refreshes every tenant of a plan and should not trip on one.
    locked = _tenant_for_update(tenant, allow_suspended=True, allow_deleted=True)
    before = dict(locked.entitlements or {})
    if before == entitlements:
        return locked
    locked.entitlements = dict(entitlements)
    locked.save(update_fields=["entitlements", "updated_at"])
    audit_record(
        action="tenant.entitlements_changed",
        actor=actor,
        tenant=locked,
        target=locked,
        metadata={"from": before, "to": locked.entitlements},
    )
    return locked


@transaction.atomic
def tenant_entitlement_overrides_update(
    *, tenant: Tenant, changes: dict[str, int | None], reason: str = "", actor=None
) -> Tenant:
    """An operator's limits for one tenant, merged as a JSON merge patch: a number sets the
    override, null removes it (the plan's entitlement or the default applies again)."""
    _limits_validate(changes, field="overrides", allow_null=True)
    locked = _tenant_for_update(tenant, allow_suspended=True)
    before = dict(locked.entitlement_overrides or {})
    after = dict(before)
    for name, value in changes.items():
        if value is None:
            after.pop(name, None)
        else:
            after[name] = value
    if after == before:
        return locked
    locked.entitlement_overrides = after
    locked.save(update_fields=["entitlement_overrides", "updated_at"])
    audit_record(
        action="tenant.entitlements_overridden",
        actor=actor,
        tenant=locked,
        target=locked,
        severity="warning",
        metadata={"from": before, "to": after, "reason": (reason or "")[:200]},
    )
    return locked


def _check_user_limit(tenant: Tenant, *, excluding: Invitation | None = None) -> None:
    """Refuse one more user (member or pending invitation) over the tenant's `users` limit."""
    allowed = selectors.tenant_limit(tenant, "users")
    if allowed is None:
        return
    used = selectors.tenant_user_count(tenant=tenant)
    if excluding is not None and excluding.current_status == InvitationStatus.PENDING:
        used -= 1
    if used + 1 > allowed:
        raise QuotaExceeded(
            f"This tenant may have {allowed} users (members plus pending invitations) and has "
            f"{used}. Remove a member or revoke an invitation, or raise the limit.",
            extra={"limit": "users", "allowed": allowed, "used": used},
        )


# --- Members --------------------------------------------------------------------------------

ASSIGNABLE_ROLES = (Role.ADMIN, Role.MEMBER, Role.VIEWER)


@transaction.atomic
def membership_role_change(
    *, membership: Membership, role: str, actor_role: str, actor=None, api_key=None
) -> Membership:
    """Change a member's role. Ownership moves only by transfer; only the owner makes or unmakes
    admins; admins manage members and viewers."""
    if role not in ASSIGNABLE_ROLES:
        raise InvalidInput(
            "role must be admin, member or viewer; ownership moves only by transfer.", field="role"
        )
    _require_role(actor_role, Role.ADMIN, "Only the owner or an admin can change roles.")
    tenant = _tenant_for_update(membership.tenant)
    membership = Membership.objects.select_related("user").get(pk=membership.pk)
    if membership.role == Role.OWNER:
        raise Conflict(
            "The owner's role changes only by transferring ownership "
            "(POST /api/v1/tenants/{id}/transfer-ownership)."
        )
    if Role.ADMIN in (membership.role, role):
        _require_role(actor_role, Role.OWNER, "Only the owner can make or unmake admins.")
    if membership.role == role:
        return membership
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    audit_record(
        action="member.role_changed",
        actor=actor,
        api_key=api_key,
        tenant=tenant,
        target=membership,
        metadata={"user_id": str(membership.user_id), "from": before, "to": role},
    )
    events.member_event("member.role_changed", tenant, membership, previous_role=before)
    inbox_send(
        user=membership.user,
        kind="member.role_changed",
        title=f"You are now {_article(role)} {role} of {tenant.name}",
        body=f"{_user_label(actor)} changed your role in {tenant.name} from {before} to {role}.",
        tenant=tenant,
        data={"from": before, "to": role},
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor_role: str, actor=None, api_key=None) -> None:
    """Remove someone from the tenant. Nobody removes the owner; only the owner removes admins."""
    _require_role(actor_role, Role.ADMIN, "Only the owner or an admin can remove members.")
    tenant = _tenant_for_update(membership.tenant)
    membership = Membership.objects.select_related("user").get(pk=membership.pk)
    if membership.role == Role.OWNER:
        raise Conflict("The owner cannot be removed. Transfer ownership first.")
    if membership.role == Role.ADMIN:
        _require_role(actor_role, Role.OWNER, "Only the owner can remove an admin.")
    user, role = membership.user, membership.role
    audit_target = {"target_type": membership._meta.label_lower, "target_id": str(membership.pk)}
    events.member_event("member.removed", tenant, membership, reason="removed")
    membership.delete()
    audit_record(
        action="member.removed",
        actor=actor,
        api_key=api_key,
        tenant=tenant,
        metadata={"user_id": str(user.pk), "email": user.email, "role": role},
        **audit_target,
    )
    inbox_send(
        user=user,
        kind="member.removed",
        title=f"You were removed from {tenant.name}",
        body=f"{_user_label(actor)} removed you from {tenant.name}.",
        tenant=tenant,
        data={"role": role},
    )


@transaction.atomic
def membership_leave(*, membership: Membership | None, actor=None) -> None:
    """Leave a tenant. Anyone may leave, except its owner (transfer ownership or delete it)."""
    if membership is None:
        raise Conflict("You are not a member of this tenant, so you cannot leave it.")
    tenant = _tenant_for_update(membership.tenant)
    membership = Membership.objects.select_related("user").get(pk=membership.pk)
    if membership.role == Role.OWNER:
        raise Conflict(
            "The owner cannot leave. Transfer ownership to an admin first, or delete the tenant."
        )
    user, role = membership.user, membership.role
    audit_target = {"target_type": membership._meta.label_lower, "target_id": str(membership.pk)}
    events.member_event("member.removed", tenant, membership, reason="left")
    membership.delete()
    audit_record(
        action="member.left",
        actor=actor or user,
        tenant=tenant,
        metadata={"user_id": str(user.pk), "email": user.email, "role": role},
        **audit_target,
    )
    _tell_owner(
        tenant,
        kind="member.left",
        title=f"{user.email} left {tenant.name}",
        body=f"{user.email} ({role}) left {tenant.name}.",
    )


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


# --- Invitations ----------------------------------------------------------------------------

INVITATION_TOKEN_SALT = "apps.tenants.invitation"  # noqa: S105 (a namespace, not a secret)


def invitation_token(invitation: Invitation) -> str:
    """The secret of an invitation's link (64 hex characters). It is stored nowhere: it is an
    HMAC (keyed by SECRET_KEY) of the id and the current nonce, so the mail task can rebuild it
    from the id alone, while the database holds only its SHA-256 (`token_hash`). A new nonce
    (resend) makes a new token and voids the old one."""
    return salted_hmac(
        INVITATION_TOKEN_SALT,
        f"{invitation.pk}:{invitation.token_nonce}",
        algorithm="sha256",
    ).hexdigest()


def invitation_url(invitation: Invitation) -> str:
    return f"{settings.ROOT_URL}/invitations/{invitation_token(invitation)}"


def _invitation_issue_token(invitation: Invitation) -> None:
    invitation.token_nonce = secrets.token_hex(16)
    invitation.token_hash = selectors.invitation_token_hash(invitation_token(invitation))
    invitation.expires_at = timezone.now() + dt.timedelta(days=settings.INVITATION_TTL_DAYS)


def _spares_refill_enqueue() -> None:
    from .tasks import spares_fill

    transaction.on_commit(spares_fill.delay)


def _invitation_mail_enqueue(invitation: Invitation) -> None:
    from .tasks import invitation_mail_send

    transaction.on_commit(functools.partial(invitation_mail_send.delay, str(invitation.pk)))


def _may_invite(actor_role: str, role: str) -> None:
    if role not in ASSIGNABLE_ROLES:
        raise InvalidInput(
            "role must be admin, member or viewer: nobody is invited as owner.", field="role"
        )
    _require_role(actor_role, Role.ADMIN, "Only the owner or an admin can invite people.")
    if role == Role.ADMIN:
        _require_role(actor_role, Role.OWNER, "Only the owner can invite admins.")


@transaction.atomic
def invitation_create(
    *, tenant: Tenant, email: str, role: str, actor_role: str, actor=None, api_key=None
) -> Invitation:
    """Invite `email` with `role`: owners invite admins, admins invite members and viewers.

    The invitation counts against the `users` limit while pending. Its link is mailed after
    commit; a user who already has an account also finds a message in their inbox."""
    _may_invite(actor_role, role)
    email = get_user_model().objects.normalize_email((email or "").strip())
    if not email or "@" not in email:
        raise InvalidInput("A valid email address is required.", field="email")
    tenant = _tenant_for_update(tenant)
    if Membership.objects.filter(tenant=tenant, user__email__iexact=email).exists():
        raise Conflict(f"{email} is already a member of {tenant.name}.")
    open_invitation = Invitation.objects.filter(
        tenant=tenant, status=InvitationStatus.PENDING, email__iexact=email
    ).first()
    if open_invitation is not None:
        if open_invitation.current_status == InvitationStatus.PENDING:
            raise Conflict(
                f"{email} already has a pending invitation; resend it instead.",
                extra={"invitation_id": str(open_invitation.pk)},
            )
        open_invitation.status = InvitationStatus.EXPIRED
        open_invitation.save(update_fields=["status", "updated_at"])
    _check_user_limit(tenant)

    invitation = Invitation(
        tenant=tenant,
        email=email,
        role=role,
        invited_by=actor if getattr(actor, "pk", None) else None,
    )
    _invitation_issue_token(invitation)
    invitation.save()
    audit_record(
        action="invitation.created",
        actor=actor,
        api_key=api_key,
        tenant=tenant,
        target=invitation,
        metadata={"email": email, "role": role, "expires_at": invitation.expires_at.isoformat()},
    )
    invitee = get_user_model().objects.filter(email__iexact=email, is_active=True).first()
    if invitee is not None:
        inbox_send(
            user=invitee,
            kind="member.invited",
            title=f"You are invited to join {tenant.name}",
            body=f"{_user_label(actor)} invited you to join {tenant.name} as {_article(role)} "
            f"{role}. The link to accept is in the mail sent to {email}.",
            tenant=tenant,
            data={"invitation_id": str(invitation.pk), "role": role},
        )
    _invitation_mail_enqueue(invitation)
    return invitation


@transaction.atomic
def invitation_resend(
    *, invitation: Invitation, actor_role: str, actor=None, api_key=None
) -> Invitation:
    """Mail a pending (or expired) invitation again with a new link and a new expiry; the old
    link stops working."""
    _may_invite(actor_role, invitation.role)
    tenant = _tenant_for_update(invitation.tenant)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.status not in (InvitationStatus.PENDING, InvitationStatus.EXPIRED):
        raise Conflict(
            f"This invitation was {invitation.status}; invite again instead.",
            extra={"invitation_status": invitation.status},
        )
    if invitation.status == InvitationStatus.EXPIRED:
        clash = Invitation.objects.filter(
            tenant=tenant, status=InvitationStatus.PENDING, email__iexact=invitation.email
        ).exists()
        if clash:
            raise Conflict(f"{invitation.email} has a newer invitation; resend that one.")
    _check_user_limit(tenant, excluding=invitation)
    _invitation_issue_token(invitation)
    invitation.status = InvitationStatus.PENDING
    invitation.save(
        update_fields=["token_nonce", "token_hash", "expires_at", "status", "updated_at"]
    )
    audit_record(
        action="invitation.resent",
        actor=actor,
        api_key=api_key,
        tenant=tenant,
        target=invitation,
        metadata={"email": invitation.email, "expires_at": invitation.expires_at.isoformat()},
    )
    _invitation_mail_enqueue(invitation)
    return invitation


@transaction.atomic
def invitation_revoke(
    *, invitation: Invitation, actor_role: str, actor=None, api_key=None
) -> Invitation:
    """Revoke an open invitation: its link stops working. Revoking a revoked one is a no-op."""
    _may_invite(actor_role, invitation.role)
    tenant = _tenant_for_update(invitation.tenant)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.status == InvitationStatus.REVOKED:
        return invitation
    if invitation.status == InvitationStatus.ACCEPTED:
        raise Conflict(
            "This invitation was accepted; remove the member instead.",
            extra={"invitation_status": invitation.status},
        )
    invitation.status = InvitationStatus.REVOKED
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["status", "revoked_at", "updated_at"])
    audit_record(
        action="invitation.revoked",
        actor=actor,
        api_key=api_key,
        tenant=tenant,
        target=invitation,
        metadata={"email": invitation.email, "role": invitation.role},
    )
    return invitation


class InvitationForAnotherEmail(ApplicationError):
    status = 403
    slug = "permission-denied"


@transaction.atomic
def invitation_accept(*, token: str, user) -> Membership:
    """Accept an invitation as `user`, whose email must be the invited one (any case).

    Expired, revoked and used links answer 409 with `invitation_status`; an unknown link 404."""
    found = selectors.invitation_get_by_token(token=token)
    if found is None or found.tenant.status == TenantStatus.DELETED:
        raise NotFound("This invitation link is not valid.")
    tenant = _tenant_for_update(found.tenant)
    invitation = Invitation.objects.select_for_update().get(pk=found.pk)
    status = invitation.current_status
    if status != InvitationStatus.PENDING:
        message = {
            InvitationStatus.EXPIRED: "This invitation has expired; ask for a new one.",
            InvitationStatus.REVOKED: "This invitation was revoked.",
            InvitationStatus.ACCEPTED: "This invitation has already been used.",
        }[InvitationStatus(status)]
        raise Conflict(message, extra={"invitation_status": status})
    if (user.email or "").strip().lower() != invitation.email.lower():
        raise InvitationForAnotherEmail(
            f"This invitation is for {invitation.email}, and you are signed in as "
            f"{user.email or user}. Sign in with the invited address.",
        )
    if Membership.objects.filter(tenant=tenant, user=user).exists():
        raise Conflict(f"You are already a member of {tenant.name}.")
    _check_user_limit(tenant, excluding=invitation)

    membership = Membership.objects.create(tenant=tenant, user=user, role=invitation.role)
    invitation.status = InvitationStatus.ACCEPTED
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["status", "accepted_at", "accepted_by", "updated_at"])
    audit_record(
        action="invitation.accepted",
        actor=user,
        tenant=tenant,
        target=invitation,
        metadata={
            "email": invitation.email,
            "role": invitation.role,
            "membership_id": str(membership.pk),
        },
    )
    events.member_event("member.added", tenant, membership)
    inviter = invitation.invited_by
    if inviter is not None and inviter.pk != user.pk:
        inbox_send(
            user=inviter,
            kind="invitation.accepted",
            title=f"{user.email} joined {tenant.name}",
            body=f"{user.email} accepted your invitation and joined {tenant.name} as "
            f"{_article(invitation.role)} {invitation.role}.",
            tenant=tenant,
            data={"invitation_id": str(invitation.pk), "user_id": str(user.pk)},
        )
    return membership


@transaction.atomic
def invitation_mail_send(*, invitation_id) -> bool:
    """Mail the current link of a pending invitation, once per link (run by a Celery task).

    Idempotent: the row is locked and `mailed_token_hash` records the link already mailed, so a
    second run, or a run for a link replaced since, sends nothing. A failing send raises and
    rolls back, so the task's retry sends it. Returns whether a mail went out."""
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("tenant", "invited_by")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None or invitation.current_status != InvitationStatus.PENDING:
        return False
    if invitation.mailed_token_hash == invitation.token_hash:
        return False
    if selectors.invitation_token_hash(invitation_token(invitation)) != invitation.token_hash:
        # SECRET_KEY changed since the link was made: the link cannot be rebuilt. Resend it.
        logger.warning("Invitation %s: cannot rebuild its link; resend it.", invitation.pk)
        return False
    context = {
        "invitation": invitation,
        "tenant": invitation.tenant,
        "inviter": _user_label(invitation.invited_by),
        "url": invitation_url(invitation),
        "ttl_days": settings.INVITATION_TTL_DAYS,
    }
    send_mail(
        subject=render_to_string("emails/invitation_subject.txt", context).strip(),
        message=render_to_string("emails/invitation.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
        html_message=render_to_string("emails/invitation.html", context),
    )
    invitation.mailed_token_hash = invitation.token_hash
    invitation.mailed_at = timezone.now()
    invitation.save(update_fields=["mailed_token_hash", "mailed_at", "updated_at"])
    return True
