"""A user's MFA state, and the rule that staff enrol MFA before the operator console."""

from __future__ import annotations

from dataclasses import dataclass, field

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.conf import settings


@dataclass(frozen=True)
class MfaState:
    enabled: bool
    types: list[str] = field(default_factory=list)
    recovery_codes_left: int | None = None
    required: bool = False


def mfa_state_for_user(*, user) -> MfaState:
    """One query: the user's authenticators, and how many recovery codes are still unused."""
    authenticators = list(Authenticator.objects.filter(user=user).order_by("type"))
    types = sorted({a.type for a in authenticators})
    codes_left = None
    for authenticator in authenticators:
        if authenticator.type == Authenticator.Type.RECOVERY_CODES:
            codes_left = len(RecoveryCodes(authenticator).get_unused_codes())
    # Recovery codes alone do not protect a login: allauth needs another authenticator.
    enabled = any(t != Authenticator.Type.RECOVERY_CODES for t in types)
    return MfaState(
        enabled=enabled,
        types=types,
        recovery_codes_left=codes_left,
        required=staff_mfa_required(user=user),
    )


def staff_mfa_required(*, user) -> bool:
    return bool(
        settings.MFA_REQUIRED_FOR_STAFF
        and getattr(user, "is_authenticated", False)
        and user.is_staff
    )


def staff_mfa_enrolment_pending(*, user) -> bool:
    """Staff who must enrol MFA (settings.MFA_REQUIRED_FOR_STAFF) and have not yet."""
    if not staff_mfa_required(user=user):
        return False
    return (
        not Authenticator.objects.filter(user=user)
        .exclude(type=Authenticator.Type.RECOVERY_CODES)
        .exists()
    )
