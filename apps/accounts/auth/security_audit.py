"""Security events of sign-in and account management, written to the audit log.

Receivers of Django's and allauth's signals: these are the one place allauth reports logins,
password changes and authenticator changes from all its flows (pages, headless, social).
Sign-up and lockout are audited where they happen (signup.py, lockout.py)."""

from __future__ import annotations

from typing import Any

from allauth.account import signals as account_signals
from allauth.mfa import signals as mfa_signals
from allauth.socialaccount import signals as social_signals
from django.contrib.auth import signals as auth_signals
from django.dispatch import receiver

from apps.core.audit import audit_record


def _via(request) -> str:
    if request is None:
        return ""
    if getattr(request, "login_via", ""):  # set by the signing-in view (handoff.py)
        return request.login_via
    return "api" if hasattr(getattr(request, "allauth", None), "headless") else "page"


def _record(action: str, user, request=None, severity: str = "info", **metadata: Any) -> None:
    audit_record(
        action=action,
        actor=user,
        target=user if getattr(user, "pk", None) else None,
        metadata={"via": _via(request), **metadata},
        severity=severity,
    )


@receiver(auth_signals.user_logged_in, dispatch_uid="quayside.audit.logged_in")
def _logged_in(sender, request, user, **kwargs) -> None:
    methods = []
    session = getattr(request, "session", None)
    if session is not None:
        methods = [m.get("method", "") for m in session.get("account_authentication_methods", [])]
    _record("user.logged_in", user, request, methods=methods)


@receiver(auth_signals.user_logged_out, dispatch_uid="quayside.audit.logged_out")
def _logged_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        _record("user.logged_out", user, request)


@receiver(auth_signals.user_login_failed, dispatch_uid="quayside.audit.login_failed")
def _login_failed(sender, credentials, request=None, **kwargs) -> None:
    login = credentials.get("email") or credentials.get("username") or ""
    audit_record(
        action="user.login_failed",
        metadata={"via": _via(request), "email": str(login).lower()[:254]},
        severity="warning",
    )


@receiver(account_signals.password_changed, dispatch_uid="quayside.audit.password_changed")
def _password_changed(sender, request, user, **kwargs) -> None:
    _record("user.password_changed", user, request)


@receiver(account_signals.password_set, dispatch_uid="quayside.audit.password_set")
def _password_set(sender, request, user, **kwargs) -> None:
    _record("user.password_set", user, request)


@receiver(account_signals.password_reset, dispatch_uid="quayside.audit.password_reset")
def _password_reset(sender, request, user, **kwargs) -> None:
    # A reset also lifts a lockout (allauth clears the account's failed-login hits).
    _record("user.password_reset", user, request, severity="warning")


@receiver(account_signals.email_confirmed, dispatch_uid="quayside.audit.email_confirmed")
def _email_confirmed(sender, request, email_address, **kwargs) -> None:
    _record("user.email_verified", email_address.user, request, email=email_address.email)


@receiver(account_signals.email_changed, dispatch_uid="quayside.audit.email_changed")
def _email_changed(sender, request, user, from_email_address, to_email_address, **kwargs) -> None:
    _record(
        "user.email_changed",
        user,
        request,
        severity="warning",
        old=getattr(from_email_address, "email", ""),
        new=getattr(to_email_address, "email", ""),
    )


@receiver(mfa_signals.authenticator_added, dispatch_uid="quayside.audit.authenticator_added")
def _authenticator_added(sender, request, user, authenticator, **kwargs) -> None:
    _record("authenticator.added", user, request, type=authenticator.type)


@receiver(mfa_signals.authenticator_removed, dispatch_uid="quayside.audit.authenticator_removed")
def _authenticator_removed(sender, request, user, authenticator, **kwargs) -> None:
    _record("authenticator.removed", user, request, severity="warning", type=authenticator.type)


@receiver(mfa_signals.authenticator_reset, dispatch_uid="quayside.audit.authenticator_reset")
def _authenticator_reset(sender, request, user, authenticator, **kwargs) -> None:
    _record("authenticator.reset", user, request, type=authenticator.type)


@receiver(mfa_signals.authentication_failed, dispatch_uid="quayside.audit.mfa_failed")
def _mfa_failed(sender, request, user, **kwargs) -> None:
    _record("user.mfa_failed", user, request, severity="warning")


@receiver(social_signals.social_account_added, dispatch_uid="quayside.audit.social_added")
def _social_added(sender, request, sociallogin, **kwargs) -> None:
    _record(
        "social_account.connected",
        sociallogin.user,
        request,
        provider=sociallogin.account.provider,
    )


@receiver(social_signals.social_account_removed, dispatch_uid="quayside.audit.social_removed")
def _social_removed(sender, request, socialaccount, **kwargs) -> None:
    _record(
        "social_account.disconnected",
        socialaccount.user,
        request,
        severity="warning",
        provider=socialaccount.provider,
    )
