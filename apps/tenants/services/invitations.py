"""Invitations: tokens, create, resend, revoke, accept, and the invitation email."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.crypto import salted_hmac

from apps.core.actor import Actor
from apps.core.audit import audit_as
from apps.core.inbox import inbox_send
from apps.core.problems import ApplicationError, Conflict, InvalidInput

from .. import events, selectors
from ..models import Invitation, InvitationStatus, Membership, Role, Tenant, TenantStatus
from ._common import NotFound, _require_role, _tenant_for_update
from .limits import _check_user_limit
from .members import ASSIGNABLE_ROLES, _article

logger = logging.getLogger(__name__)


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


def _invitation_mail_enqueue(invitation: Invitation) -> None:
    from ..tasks import invitation_mail_send

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
def invitation_create(*, tenant: Tenant, email: str, role: str, actor: Actor) -> Invitation:
    """Invite `email` with `role`: owners invite admins, admins invite members and viewers.

    The invitation counts against the `users` limit while pending. Its link is mailed after
    commit; a user who already has an account also finds a message in their inbox."""
    _may_invite(actor.role, role)
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
        invited_by=actor.person,
    )
    _invitation_issue_token(invitation)
    invitation.save()
    audit_as(
        actor,
        "invitation.created",
        tenant=tenant,
        target=invitation,
        **{"email": email, "role": role, "expires_at": invitation.expires_at.isoformat()},
    )
    invitee = get_user_model().objects.filter(email__iexact=email, is_active=True).first()
    if invitee is not None:
        inbox_send(
            user=invitee,
            kind="member.invited",
            title=f"You are invited to join {tenant.name}",
            body=f"{actor.display_name} invited you to join {tenant.name} as {_article(role)} "
            f"{role}. The link to accept is in the mail sent to {email}.",
            tenant=tenant,
            data={"invitation_id": str(invitation.pk), "role": role},
        )
    _invitation_mail_enqueue(invitation)
    return invitation


@transaction.atomic
def invitation_resend(*, invitation: Invitation, actor: Actor) -> Invitation:
    """Mail a pending (or expired) invitation again with a new link and a new expiry; the old
    link stops working."""
    _may_invite(actor.role, invitation.role)
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
    audit_as(
        actor,
        "invitation.resent",
        tenant=tenant,
        target=invitation,
        **{"email": invitation.email, "expires_at": invitation.expires_at.isoformat()},
    )
    _invitation_mail_enqueue(invitation)
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: Actor) -> Invitation:
    """Revoke an open invitation: its link stops working. Revoking a revoked one is a no-op."""
    _may_invite(actor.role, invitation.role)
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
    audit_as(
        actor,
        "invitation.revoked",
        tenant=tenant,
        target=invitation,
        **{"email": invitation.email, "role": invitation.role},
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
    audit_as(
        Actor(user=user),
        "invitation.accepted",
        tenant=tenant,
        target=invitation,
        **{
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
        "inviter": Actor(user=invitation.invited_by).display_name,
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
