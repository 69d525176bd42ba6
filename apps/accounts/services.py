"""Writes of the accounts app. API keys: made, revoked, and checked when a request presents one.

A raw key is `qs_` followed by 43 URL-safe characters (256 random bits). Only its SHA-256 is kept:
with that much entropy a plain, fast hash cannot be reversed or guessed, and it lets a request
find its key with one indexed lookup."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.core import operation_names
from apps.core.actor import SYSTEM, Actor
from apps.core.audit import audit_as
from apps.core.problems import ApplicationError, InvalidInput
from apps.tenants import services as tenant_services
from apps.tenants.models import Membership, Role
from apps.tenants.roles import role_at_least

from . import selectors
from .models import ApiKey, ApiKeyAuthority

API_KEY_PREFIX = "qs_"
# Characters of the random part shown to people in `prefix` (after `qs_`).
API_KEY_PREFIX_SHOWN = 6
API_KEY_RANDOM_BYTES = 32
# Longer tokens are not ours: refuse them before hashing.
API_KEY_MAX_LENGTH = 128
NAME_MAX_LENGTH = 100
# `last_used_at` is written at most once per key in this period.
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)


class AuthorityNotAllowed(ApplicationError):
    """The caller asked for a key that could do more than the caller may."""

    status = 403
    slug = "permission-denied"


def api_key_hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


@transaction.atomic
def api_key_create(
    *,
    tenant,
    name: str,
    authority: str,
    expires_at: dt.datetime | None = None,
    allowed_operations: list[str] | None = None,
    actor: Actor = SYSTEM,
) -> tuple[ApiKey, str]:
    """Make a key for `tenant`; returns it with the raw key, which exists nowhere else after this.

    `actor.role` is the caller's role in the tenant (a key's is its authority): a key may not be
    given more authority than that. Operators acting from the admin have none (no limit).
    `allowed_operations` makes an agent key: it may run those operations only (docs/agents.md);
    a key that has such a list may make keys only within its own list."""
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX_LENGTH:
        raise InvalidInput(
            f"A name of 1 to {NAME_MAX_LENGTH} characters is required.", field="name"
        )
    if authority not in ApiKeyAuthority.values:
        raise InvalidInput(
            f"authority must be one of: {', '.join(ApiKeyAuthority.values)}.", field="authority"
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput("expires_at must be in the future.", field="expires_at")
    allowed_operations = _allowed_operations_checked(allowed_operations or [], actor=actor)
    actor_role = actor.role
    if actor.api_key is not None:
        if actor.api_key.tenant_id != tenant.pk:
            raise AuthorityNotAllowed("An API key can only act inside its own tenant.")
        actor_role = actor_role or actor.api_key.authority
    if actor_role is not None and not role_at_least(actor_role, authority):
        raise AuthorityNotAllowed(
            f"Your role ({actor_role}) cannot create a key with '{authority}' authority."
        )

    raw_key = API_KEY_PREFIX + secrets.token_urlsafe(API_KEY_RANDOM_BYTES)
    api_key = ApiKey.objects.create(
        tenant=tenant,
        name=name,
        authority=authority,
        prefix=raw_key[: len(API_KEY_PREFIX) + API_KEY_PREFIX_SHOWN],
        last8=raw_key[-8:],
        key_hash=api_key_hash(raw_key),
        created_by=actor.person,
        expires_at=expires_at,
        allowed_operations=allowed_operations,
    )
    audit_as(
        actor,
        "api_key.created",
        tenant=tenant,
        target=api_key,
        **{
            "name": name,
            "authority": authority,
            "prefix": api_key.prefix,
            "last8": api_key.last8,
            "expires_at": expires_at.isoformat() if expires_at else None,
            "allowed_operations": allowed_operations,
        },
    )
    return api_key, raw_key


def _allowed_operations_checked(names: list[str], *, actor: Actor) -> list[str]:
    """The allow-list, de-duplicated and sorted, once every name is a known operation and, when
    a restricted key makes the key, within that key's own list (no key widens itself)."""
    names = sorted(set(names))
    unknown = operation_names.unknown(names)
    if unknown:
        raise InvalidInput(
            f"Unknown operations: {', '.join(unknown)} (GET /api/v1/operations lists them).",
            field="allowed_operations",
        )
    own = actor.api_key.allowed_operations if actor.api_key is not None else []
    if own and (not names or not set(names) <= set(own)):
        raise AuthorityNotAllowed(
            "A key limited to some operations can only make keys limited to those operations."
        )
    return names


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: Actor = SYSTEM) -> ApiKey:
    """Revoke a key at once. Idempotent: revoking a revoked key changes and audits nothing."""
    now = timezone.now()
    changed = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
        revoked_at=now, updated_at=now
    )
    api_key.refresh_from_db(fields=["revoked_at", "updated_at"])
    if changed:
        audit_as(
            actor,
            "api_key.revoked",
            tenant=api_key.tenant,
            target=api_key,
            **{"name": api_key.name, "prefix": api_key.prefix, "last8": api_key.last8},
        )
    return api_key


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The usable key (not revoked, not expired) for `raw_key`, or None. Notes its use.

    Not atomic on purpose: one read, then at most one single-statement UPDATE."""
    if not raw_key.startswith(API_KEY_PREFIX) or len(raw_key) > API_KEY_MAX_LENGTH:
        return None
    api_key = selectors.api_key_get_usable(key_hash=api_key_hash(raw_key))
    if api_key is not None:
        api_key_mark_used(api_key=api_key)
    return api_key


def api_key_mark_used(*, api_key: ApiKey) -> bool:
    """Set `last_used_at` unless it was set less than LAST_USED_RESOLUTION ago.

    The write is one conditional UPDATE, so a busy key costs a write a minute, not one per
    request, and concurrent requests cannot both write. When the row just read already shows a
    recent use, the statement is skipped altogether. Returns whether this call wrote."""
    now = timezone.now()
    cutoff = now - LAST_USED_RESOLUTION
    if api_key.last_used_at is not None and api_key.last_used_at >= cutoff:
        return False
    written = (
        ApiKey.objects.filter(pk=api_key.pk)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=cutoff))
        .update(last_used_at=now)
    )
    if written:
        api_key.last_used_at = now
    return bool(written)


# --- Users (operator console) -----------------------------------------------------------------


@transaction.atomic
def user_active_set(*, user, active: bool, actor: Actor = SYSTEM):
    """Deactivate (no more logins, sessions or tokens) or reactivate a user."""
    if user.is_active == active:
        return user
    if user.pk == actor.user_id and not active:
        raise InvalidInput("You cannot deactivate yourself.", field="is_active")
    user.is_active = active
    user.save(update_fields=["is_active", "updated_at"])
    audit_as(
        actor,
        "user.activated" if active else "user.deactivated",
        target=user,
        severity="warning",
        **{"email": user.email},
    )
    return user


@transaction.atomic
def user_staff_set(*, user, staff: bool, actor: Actor = SYSTEM):
    """Make a user an operator (staff) or take it back."""
    if user.is_staff == staff:
        return user
    if user.pk == actor.user_id and not staff:
        raise InvalidInput("You cannot remove your own operator rights.", field="is_staff")
    user.is_staff = staff
    user.save(update_fields=["is_staff", "updated_at"])
    audit_as(
        actor,
        "user.staff_granted" if staff else "user.staff_revoked",
        target=user,
        severity="critical",
        **{"email": user.email},
    )
    return user


DELETE_TENANT = "delete"


@transaction.atomic
def user_delete(*, user, successors: dict[str, str], actor: Actor = SYSTEM) -> None:
    """Delete a user. Each tenant they own first needs a successor: `successors` maps the tenant
    id to the user id of one of its members (made admin, then owner), or to "delete" to delete
    the tenant (soft; purged later). Nothing changes unless every owned tenant is covered."""
    if user.pk == actor.user_id:
        raise InvalidInput("You cannot delete yourself.", field="user")
    owned = list(selectors.user_owned_tenants(user=user))
    missing = [t.slug for t in owned if not successors.get(str(t.pk))]
    if missing:
        raise InvalidInput(
            "Choose a new owner (or deletion) for every tenant this user owns: "
            + ", ".join(missing),
            field="successors",
        )
    as_owner = actor.with_role(Role.OWNER)
    for tenant in owned:
        choice = successors[str(tenant.pk)]
        if choice == DELETE_TENANT:
            tenant_services.tenant_delete(tenant=tenant, actor=as_owner)
            continue
        successor = Membership.objects.filter(tenant=tenant, user_id=choice).first()
        if successor is None or str(successor.user_id) == str(user.pk):
            raise InvalidInput(
                f"The new owner of {tenant.slug} must be another member of it.",
                field="successors",
            )
        if successor.role != Role.ADMIN:
            tenant_services.membership_role_change(
                membership=successor, role=Role.ADMIN, actor=as_owner
            )
        tenant_services.tenant_transfer_ownership(
            tenant=tenant, user_id=successor.user_id, actor=as_owner
        )
    chosen = {tenant.slug: successors[str(tenant.pk)] for tenant in owned}
    audit_as(
        actor,
        "user.deleted",
        target_type=user._meta.label_lower,
        target_id=str(user.pk),
        severity="critical",
        **{"email": user.email, "successors": chosen},
    )
    user.delete()
