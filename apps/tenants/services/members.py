"""Members: change a member's role, remove a member, leave a tenant."""

from __future__ import annotations

from django.db import transaction

from apps.core.actor import SYSTEM, Actor
from apps.core.audit import audit_as
from apps.core.inbox import inbox_send
from apps.core.problems import Conflict, InvalidInput

from .. import events
from ..models import Membership, Role
from ._common import _require_role, _tenant_for_update
from .lifecycle import _tell_owner

ASSIGNABLE_ROLES = (Role.ADMIN, Role.MEMBER, Role.VIEWER)


@transaction.atomic
def membership_role_change(*, membership: Membership, role: str, actor: Actor) -> Membership:
    """Change a member's role. Ownership moves only by transfer; only the owner makes or unmakes
    admins; admins manage members and viewers."""
    if role not in ASSIGNABLE_ROLES:
        raise InvalidInput(
            "role must be admin, member or viewer; ownership moves only by transfer.", field="role"
        )
    _require_role(actor.role, Role.ADMIN, "Only the owner or an admin can change roles.")
    tenant = _tenant_for_update(membership.tenant)
    membership = Membership.objects.select_related("user").get(pk=membership.pk)
    if membership.role == Role.OWNER:
        raise Conflict(
            "The owner's role changes only by transferring ownership "
            "(POST /api/v1/tenants/{id}/transfer-ownership)."
        )
    if Role.ADMIN in (membership.role, role):
        _require_role(actor.role, Role.OWNER, "Only the owner can make or unmake admins.")
    if membership.role == role:
        return membership
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    audit_as(
        actor,
        "member.role_changed",
        tenant=tenant,
        target=membership,
        **{"user_id": str(membership.user_id), "from": before, "to": role},
    )
    events.member_event("member.role_changed", tenant, membership, previous_role=before)
    inbox_send(
        user=membership.user,
        kind="member.role_changed",
        title=f"You are now {_article(role)} {role} of {tenant.name}",
        body=f"{actor.display_name} changed your role in {tenant.name} from {before} to {role}.",
        tenant=tenant,
        data={"from": before, "to": role},
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor: Actor) -> None:
    """Remove someone from the tenant. Nobody removes the owner; only the owner removes admins."""
    _require_role(actor.role, Role.ADMIN, "Only the owner or an admin can remove members.")
    tenant = _tenant_for_update(membership.tenant)
    membership = Membership.objects.select_related("user").get(pk=membership.pk)
    if membership.role == Role.OWNER:
        raise Conflict("The owner cannot be removed. Transfer ownership first.")
    if membership.role == Role.ADMIN:
        _require_role(actor.role, Role.OWNER, "Only the owner can remove an admin.")
    user, role = membership.user, membership.role
    audit_target = {"target_type": membership._meta.label_lower, "target_id": str(membership.pk)}
    events.member_event("member.removed", tenant, membership, reason="removed")
    membership.delete()
    audit_as(
        actor,
        "member.removed",
        tenant=tenant,
        **{"user_id": str(user.pk), "email": user.email, "role": role},
        **audit_target,
    )
    inbox_send(
        user=user,
        kind="member.removed",
        title=f"You were removed from {tenant.name}",
        body=f"{actor.display_name} removed you from {tenant.name}.",
        tenant=tenant,
        data={"role": role},
    )


@transaction.atomic
def membership_leave(*, membership: Membership | None, actor: Actor = SYSTEM) -> None:
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
    audit_as(
        actor if actor.kind != "system" else Actor(user=user),
        "member.left",
        tenant=tenant,
        **{"user_id": str(user.pk), "email": user.email, "role": role},
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
