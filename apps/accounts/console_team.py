"""The team page of the tenant console (/console/team/members/): members with their roles, inviting
someone, changing a role, removing a member, transferring ownership (the owner, after a
confirmation page), and the pending invitations (revoke, resend).

Who may do what is the API's (apps/tenants/api/members.py, invitations.py, views.py) and the
services' (apps/tenants/services): every member reads the members; owners and admins see the
invitations and invite; admins manage members and viewers, only the owner makes, unmakes or
removes admins, and only the owner transfers ownership, to an admin. A row shows only the
controls the caller may use; a forged POST gets 403 (the services refuse it too)."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_POST

from apps.tenants import selectors as tenant_selectors
from apps.tenants import services as tenant_services
from apps.tenants.console import console_role
from apps.tenants.models import Invitation, Membership, Role
from apps.tenants.roles import RANK, role_at_least

from . import console_common as c

MANAGE = INVITE = Role.ADMIN  # the API's floors: members, invitations
TRANSFER = Role.OWNER


def assignable_roles(actor_role: str | None) -> list[str]:
    """The roles the caller may give (invite as, or change to): the owner any but owner,
    admins member and viewer."""
    if role_at_least(actor_role, Role.OWNER):
        return [Role.ADMIN, Role.MEMBER, Role.VIEWER]
    if role_at_least(actor_role, Role.ADMIN):
        return [Role.MEMBER, Role.VIEWER]
    return []


def may_manage_member(actor_role: str | None, target_role: str) -> bool:
    """May the caller change this member's role or remove them? Not the owner; admins only by
    the owner (as membership_role_change and membership_remove decide)."""
    if target_role == Role.OWNER:
        return False
    floor = Role.OWNER if target_role == Role.ADMIN else MANAGE
    return role_at_least(actor_role, floor)


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(choices=())

    def __init__(self, *args, roles: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(r, Role(r).label) for r in roles]
        if Role.MEMBER in roles:
            self.fields["role"].initial = Role.MEMBER


@dataclass(frozen=True)
class MemberRow:
    membership: Membership
    is_you: bool
    may_manage: bool
    roles: list[str]  # what its role may be changed to
    may_transfer_to: bool


def _membership(request: HttpRequest, membership_id) -> Membership:
    found = tenant_selectors.membership_get_in_tenant(
        tenant=request.tenant, membership_id=membership_id
    )
    if found is None:
        raise Http404("No such member.")
    return found


def _invitation(request: HttpRequest, invitation_id) -> Invitation:
    found = tenant_selectors.invitation_get_in_tenant(
        tenant=request.tenant, invitation_id=invitation_id
    )
    if found is None:
        raise Http404("No such invitation.")
    return found


def team_view(request: HttpRequest) -> HttpResponse:
    """GET: the members (and, for owners and admins, the pending invitations); POST: invite."""
    role = console_role(request)
    writable = c.may(request, INVITE)
    roles = assignable_roles(role) if writable else []
    form = InviteForm(roles=roles)
    status = 200
    if request.method == "POST":
        c.require(request, INVITE)
        form = InviteForm(request.POST, roles=assignable_roles(role))
        if form.is_valid():
            email, new_role = form.cleaned_data["email"], form.cleaned_data["role"]
            invitation = c.run(
                request,
                email,
                lambda: tenant_services.invitation_create(
                    tenant=request.tenant, email=email, role=new_role, actor=c.actor(request)
                ),
            )
            if invitation is not None:
                messages.success(request, f"{email} is invited as {new_role}; the link is mailed.")
                return HttpResponseRedirect(c.url("team") + "#invitations")
        status = 400
    members = sorted(
        tenant_selectors.members_for_tenant(tenant=request.tenant),
        key=lambda m: (-RANK[Role(m.role)], m.user.email.lower()),
    )
    rows = [
        MemberRow(
            membership=m,
            is_you=m.user_id == request.user.pk,
            may_manage=writable and may_manage_member(role, m.role),
            roles=roles,
            may_transfer_to=writable and role == Role.OWNER and m.role == Role.ADMIN,
        )
        for m in members
    ]
    invitations = None
    if role_at_least(role, INVITE):
        invitations = list(
            tenant_selectors.invitations_for_tenant(tenant=request.tenant).order_by("-created_at")
        )
    return c.render(
        request,
        "console/team/members.html",
        title="Team",
        tab="members",
        rows=rows,
        invitations=invitations,
        may_invite=writable,
        may_revoke_admin_invitations=writable and role == Role.OWNER,
        form=form,
        status=status,
    )


@require_POST
def member_role_view(request: HttpRequest, membership_id) -> HttpResponse:
    c.require(request, MANAGE)
    membership = _membership(request, membership_id)
    new_role = request.POST.get("role", "")
    done = c.run(
        request,
        membership.user.email,
        lambda: tenant_services.membership_role_change(
            membership=membership, role=new_role, actor=c.actor(request)
        ),
    )
    if done is not None:
        messages.success(request, f"{membership.user.email} is now {new_role}.")
    return HttpResponseRedirect(c.url("team") + f"#member-{membership.pk}")


def member_remove_view(request: HttpRequest, membership_id) -> HttpResponse:
    """GET: what removing does; POST: remove."""
    membership = _membership(request, membership_id)
    if request.method == "POST":
        c.require(request, MANAGE)
        done = c.run(
            request,
            membership.user.email,
            lambda: tenant_services.membership_remove(
                membership=membership, actor=c.actor(request)
            ),
        )
        if done is not None:
            messages.success(request, f"{membership.user.email} was removed from the team.")
        return HttpResponseRedirect(c.url("team"))
    return c.render(
        request,
        "console/team/confirm.html",
        title=f"Remove {membership.user.email}?",
        tab="members",
        heading=f"Remove {membership.user.email} from {request.tenant.name}?",
        explanation=(
            f"They lose access to this tenant at once (they are {membership.role} now). "
            "Their account stays; invite them again to bring them back."
        ),
        allowed=c.may(request, MANAGE)
        and may_manage_member(console_role(request), membership.role),
        refusal="Only the owner removes admins; admins remove members and viewers.",
        button="Remove member",
        danger=True,
        cancel_url=c.url("team"),
    )


def member_transfer_view(request: HttpRequest, membership_id) -> HttpResponse:
    """GET: what transferring does; POST: transfer ownership to this admin."""
    membership = _membership(request, membership_id)
    if request.method == "POST":
        c.require(request, TRANSFER)
        done = c.run(
            request,
            "Transfer ownership",
            lambda: tenant_services.tenant_transfer_ownership(
                tenant=request.tenant, user_id=membership.user_id, actor=c.actor(request)
            ),
        )
        if done is not None:
            messages.success(
                request,
                f"{membership.user.email} now owns {request.tenant.name}; you are an admin.",
            )
        return HttpResponseRedirect(c.url("team"))
    return c.render(
        request,
        "console/team/confirm.html",
        title="Transfer ownership?",
        tab="members",
        heading=f"Make {membership.user.email} the owner of {request.tenant.name}?",
        explanation=(
            "The owner pays the bills, deletes the tenant and makes or removes admins. "
            "You become an admin, and only the new owner can give ownership back."
        ),
        allowed=c.may(request, TRANSFER) and membership.role == Role.ADMIN,
        refusal="Only the owner transfers ownership, and only to an admin.",
        button="Transfer ownership",
        danger=True,
        cancel_url=c.url("team"),
    )


@require_POST
def invitation_revoke_view(request: HttpRequest, invitation_id) -> HttpResponse:
    c.require(request, INVITE)
    invitation = _invitation(request, invitation_id)
    done = c.run(
        request,
        invitation.email,
        lambda: tenant_services.invitation_revoke(invitation=invitation, actor=c.actor(request)),
    )
    if done is not None:
        messages.success(request, f"The invitation of {invitation.email} was revoked.")
    return HttpResponseRedirect(c.url("team") + "#invitations")


@require_POST
def invitation_resend_view(request: HttpRequest, invitation_id) -> HttpResponse:
    c.require(request, INVITE)
    invitation = _invitation(request, invitation_id)
    done = c.run(
        request,
        invitation.email,
        lambda: tenant_services.invitation_resend(invitation=invitation, actor=c.actor(request)),
    )
    if done is not None:
        messages.success(request, f"The invitation of {invitation.email} was sent again.")
    return HttpResponseRedirect(c.url("team") + "#invitations")
