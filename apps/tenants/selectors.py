from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection
from django.db.models import Case, Count, OuterRef, Q, QuerySet, Subquery, When
from django.utils import timezone

from .models import Invitation, InvitationStatus, Membership, Role, Tenant, TenantStatus
from .usage import usage_count, usage_counters

TOKEN_PATTERN = re.compile(r"^[0-9a-f]{64}$")


def current_tenant() -> Tenant:
    """The Tenant of the schema in use (requests and tasks both set it on the connection)."""
    tenant = getattr(connection, "tenant", None)
    if tenant is not None and getattr(tenant, "slug", None):
        return tenant
    return Tenant.objects.get(schema_name=connection.schema_name)


def tenants_routable() -> QuerySet[Tenant]:
    """Tenants a request may be routed to (deleted ones answer 404)."""
    return Tenant.objects.exclude(status__in=[TenantStatus.DELETED, TenantStatus.PROVISIONING])


def tenant_get_by_host(host: str) -> Tenant | None:
    return tenants_routable().filter(domains__domain=host.lower()).first()


def tenant_get_by_ident(ident: str) -> Tenant | None:
    """`X-Tenant-ID` holds a tenant's slug or id."""
    ident = ident.strip()
    try:
        return tenants_routable().filter(pk=uuid.UUID(ident)).first()
    except ValueError:
        return tenants_routable().filter(slug=ident.lower()).first()


def memberships_for_user(*, user) -> QuerySet[Membership]:
    """The caller's tenants, one membership row each (role included), in one query."""
    return (
        Membership.objects.filter(user=user)
        .exclude(tenant__status=TenantStatus.DELETED)
        .select_related("tenant")
    )


def membership_get(*, user, tenant_ident: str) -> Membership | None:
    """The caller's membership in the tenant named by id or slug; None hides other tenants."""
    memberships = memberships_for_user(user=user)
    try:
        return memberships.filter(tenant_id=uuid.UUID(str(tenant_ident))).first()
    except ValueError:
        return memberships.filter(tenant__slug=str(tenant_ident).lower()).first()


# --- Limits ---------------------------------------------------------------------------------


def tenant_limit(tenant: Tenant, name: str) -> int | None:
    """The tenant's limit called `name`, the one place every quota check reads.

    An operator override wins over the plan's entitlement (written by billing), which wins over
    settings.TENANT_DEFAULT_LIMITS. None means no limit: an entitlement written as null (the
    plan sets none), or a name that nobody set."""
    overrides = tenant.entitlement_overrides or {}
    if overrides.get(name) is not None:
        return int(overrides[name])
    entitlements = tenant.entitlements or {}
    if name in entitlements:
        value = entitlements[name]
        return None if value is None else int(value)
    return settings.TENANT_DEFAULT_LIMITS.get(name)


def tenant_limits(tenant: Tenant) -> dict[str, int | None]:
    """Every limit that has a value for this tenant, by name."""
    names = {
        *settings.TENANT_DEFAULT_LIMITS,
        *(tenant.entitlements or {}),
        *(tenant.entitlement_overrides or {}),
    }
    return {name: tenant_limit(tenant, name) for name in sorted(names)}


def tenant_user_count(*, tenant: Tenant) -> int:
    """What the `users` limit counts: members plus invitations still pending (not expired)."""
    members = Membership.objects.filter(tenant=tenant).count()
    return members + invitations_pending(tenant=tenant).count()


@dataclass(frozen=True)
class LimitUsage:
    """One limit of a tenant and what it uses of it. `limit` None: unlimited; `used` None:
    nothing counts it (a rate such as `api_requests_per_min`, or an app not installed)."""

    name: str
    limit: int | None
    used: int | None


def tenant_usage(*, tenant: Tenant, names: Iterable[str]) -> list[LimitUsage]:
    """Each named limit with its current use, counted by the app that owns what it counts
    (apps.tenants.usage): one or two queries per counted limit, whatever the tenant holds."""
    counters = usage_counters()
    rows = []
    for name in names:
        counter = counters.get(name)
        limit = tenant_limit(tenant, name)
        if limit is None and counter is not None and counter.fallback_limit is not None:
            limit = counter.fallback_limit()
        used = usage_count(counter, tenant) if counter is not None else None
        rows.append(LimitUsage(name=name, limit=limit, used=used))
    return rows


# --- Addresses ------------------------------------------------------------------------------


def tenant_url(tenant: Tenant, path: str = "/") -> str:
    """An address on the tenant's host, with the scheme and port of ROOT_URL (http and :8000 in
    local mode, https in production)."""
    root = urlsplit(settings.ROOT_URL)
    port = f":{root.port}" if root.port else ""
    return f"{root.scheme}://{tenant.slug}.{settings.BASE_DOMAIN}{port}{path}"


def landing_tenant(*, user) -> Tenant | None:
    """Where a signed-in person is sent from the root host: the tenant they own (the personal
    one made at sign-up is the first), else their first membership; routable tenants only."""
    membership = (
        memberships_for_user(user=user)
        .exclude(tenant__status=TenantStatus.PROVISIONING)
        .annotate(owned=Case(When(role=Role.OWNER, then=0), default=1))
        .order_by("owned", "created_at", "pk")
        .first()
    )
    return membership.tenant if membership is not None else None


# --- Members --------------------------------------------------------------------------------


def members_for_tenant(*, tenant: Tenant, filters: dict[str, Any] | None = None):
    """A tenant's memberships with their users (one query however many). Filters: `role`."""
    filters = filters or {}
    members = Membership.objects.filter(tenant=tenant).select_related("user")
    if filters.get("role"):
        members = members.filter(role=filters["role"])
    return members


def membership_get_in_tenant(*, tenant: Tenant, membership_id) -> Membership | None:
    """A membership of this tenant by id; another tenant's (or no) membership is None."""
    try:
        membership_id = uuid.UUID(str(membership_id))
    except ValueError:
        return None
    return members_for_tenant(tenant=tenant).filter(pk=membership_id).first()


def tenant_owner(*, tenant: Tenant) -> Membership | None:
    return members_for_tenant(tenant=tenant).filter(role=Role.OWNER).first()


# --- Invitations ----------------------------------------------------------------------------


def invitations_pending(*, tenant: Tenant, now: dt.datetime | None = None):
    return Invitation.objects.filter(
        tenant=tenant, status=InvitationStatus.PENDING, expires_at__gt=now or timezone.now()
    )


def invitations_for_tenant(*, tenant: Tenant, filters: dict[str, Any] | None = None):
    """A tenant's invitations, pending ones unless `filters["status"]` asks for another state
    (`pending`, `expired`, `accepted`, `revoked`)."""
    filters = filters or {}
    status = filters.get("status") or InvitationStatus.PENDING
    now = timezone.now()
    invitations = Invitation.objects.filter(tenant=tenant).select_related("invited_by")
    if status == InvitationStatus.PENDING:
        return invitations.filter(status=InvitationStatus.PENDING, expires_at__gt=now)
    if status == InvitationStatus.EXPIRED:
        return invitations.filter(
            Q(status=InvitationStatus.EXPIRED)
            | Q(status=InvitationStatus.PENDING, expires_at__lte=now)
        )
    return invitations.filter(status=status)


def invitation_get_in_tenant(*, tenant: Tenant, invitation_id) -> Invitation | None:
    try:
        invitation_id = uuid.UUID(str(invitation_id))
    except ValueError:
        return None
    return (
        Invitation.objects.filter(tenant=tenant, pk=invitation_id)
        .select_related("invited_by")
        .first()
    )


def invitation_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_get_by_token(*, token: str) -> Invitation | None:
    """The invitation a link's token belongs to (in any state), or None."""
    token = (token or "").strip()
    if not TOKEN_PATTERN.match(token):
        return None
    return (
        Invitation.objects.filter(token_hash=invitation_token_hash(token))
        .select_related("tenant", "invited_by")
        .first()
    )


# --- Operators ------------------------------------------------------------------------------


def tenants_for_operator(*, filters: dict[str, Any] | None = None) -> QuerySet[Tenant]:
    """Every tenant with its member count and owner's email, in one query.

    Filters: `status`, `q` (in name or slug), `created_after`, `created_before`."""
    filters = filters or {}
    owner_email = Membership.objects.filter(tenant=OuterRef("pk"), role=Role.OWNER).values(
        "user__email"
    )[:1]
    tenants = Tenant.objects.annotate(
        member_count=Count("memberships", distinct=True),
        owner_email=Subquery(owner_email),
    )
    if filters.get("status"):
        tenants = tenants.filter(status=filters["status"])
    if filters.get("q"):
        tenants = tenants.filter(Q(name__icontains=filters["q"]) | Q(slug__icontains=filters["q"]))
    if filters.get("created_after"):
        tenants = tenants.filter(created_at__gte=filters["created_after"])
    if filters.get("created_before"):
        tenants = tenants.filter(created_at__lt=filters["created_before"])
    return tenants


def tenant_get_for_operator(*, ident: str) -> Tenant | None:
    """Any tenant (deleted ones too) by id or slug, annotated as in tenants_for_operator()."""
    tenants = tenants_for_operator()
    try:
        return tenants.filter(pk=uuid.UUID(str(ident))).first()
    except ValueError:
        return tenants.filter(slug=str(ident).lower()).first()


def tenants_due_for_purge(*, now: dt.datetime | None = None) -> QuerySet[Tenant]:
    """Deleted tenants whose grace period is over and whose schema is still there."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.TENANT_PURGE_GRACE_DAYS)
    return Tenant.objects.filter(
        status=TenantStatus.DELETED, purged_at__isnull=True, deleted_at__lte=cutoff
    ).order_by("deleted_at")


def tenant_ids_for_ident(ident: str) -> list[uuid.UUID] | QuerySet:
    """The id of the tenant named by id or slug (deleted ones too), as a subquery; an id is
    taken as given, so that purged tenants' audit events can still be found by it."""
    try:
        return [uuid.UUID(str(ident))]
    except ValueError:
        return Tenant.objects.filter(slug=str(ident).lower()).values("pk")
