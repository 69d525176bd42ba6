"""Writes of the tenants app: tenant lifecycle, limits, members, invitations.

Every function is one use case in one transaction that audits what it changed. Role rules live
here, not in views: `actor` (apps.core.actor.Actor) says who acts, for the audit log and the
messages, and `actor.role` is their role in the tenant (owner, admin, member, viewer; an API
key's authority; the configured operator role for operators).

The services live in modules named for what they hold; this package re-exports them, so
`from apps.tenants import services; services.tenant_create(...)` works as before: lifecycle,
limits, members, invitations; `_common` holds the errors and the helpers they share."""

from ._common import NotFound, RoleForbids
from .invitations import (
    INVITATION_TOKEN_SALT,
    InvitationForAnotherEmail,
    invitation_accept,
    invitation_create,
    invitation_mail_send,
    invitation_resend,
    invitation_revoke,
    invitation_token,
    invitation_url,
)
from .lifecycle import (
    RESERVED_SLUGS,
    SLUG_PATTERN,
    schema_name_for,
    tenant_create,
    tenant_delete,
    tenant_name_validate,
    tenant_purge,
    tenant_rename,
    tenant_resume,
    tenant_slug_validate,
    tenant_suspend,
    tenant_transfer_ownership,
)
from .limits import LIMIT_NAME_PATTERN, tenant_entitlement_overrides_update, tenant_entitlements_set
from .members import ASSIGNABLE_ROLES, membership_leave, membership_remove, membership_role_change

__all__ = [
    "ASSIGNABLE_ROLES",
    "INVITATION_TOKEN_SALT",
    "LIMIT_NAME_PATTERN",
    "RESERVED_SLUGS",
    "SLUG_PATTERN",
    "InvitationForAnotherEmail",
    "NotFound",
    "RoleForbids",
    "invitation_accept",
    "invitation_create",
    "invitation_mail_send",
    "invitation_resend",
    "invitation_revoke",
    "invitation_token",
    "invitation_url",
    "membership_leave",
    "membership_remove",
    "membership_role_change",
    "schema_name_for",
    "tenant_create",
    "tenant_delete",
    "tenant_entitlement_overrides_update",
    "tenant_entitlements_set",
    "tenant_name_validate",
    "tenant_purge",
    "tenant_rename",
    "tenant_resume",
    "tenant_slug_validate",
    "tenant_suspend",
    "tenant_transfer_ownership",
]
