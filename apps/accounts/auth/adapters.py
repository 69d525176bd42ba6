"""Our allauth adapters (settings.ACCOUNT_ADAPTER, settings.SOCIALACCOUNT_ADAPTER).

They hook three things into allauth's flows: the personal tenant made at sign-up (in the
transaction that saves the user), the account lockout (429 + Retry-After, audited), and the
security audit receivers (imported here so they are connected wherever allauth runs)."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django import forms
from django.db import transaction
from django.http import Http404, HttpRequest

from .lockout import Lockout, lockout_get, lockout_record_if_locked, lockout_response, login_key
from .signup import user_provision


def user_display(user) -> str:
    """How allauth names a user in pages, mails and API payloads (settings.ACCOUNT_USER_DISPLAY):
    the generated username means nothing to anyone."""
    return user.get_full_name() or user.email or user.get_username()


def _login_of(credentials: dict[str, Any]) -> str:
    return login_key(credentials.get("email") or credentials.get("username") or "")


class AccountAdapter(DefaultAccountAdapter):
    # --- Sign-up --------------------------------------------------------------------------
    def save_user(self, request: HttpRequest, user, form, commit: bool = True):
        with transaction.atomic():
            user = super().save_user(request, user, form, commit=commit)
            # A social sign-up form comes through here too; the social adapter provisions it.
            if commit and getattr(form, "sociallogin", None) is None:
                user_provision(user=user, method="password")
        return user

    # --- Lockout --------------------------------------------------------------------------
    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        # allauth prefixes the host; one account must have one counter whatever host is used.
        return _login_of(credentials)

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        try:
            super().pre_authenticate(request, **credentials)
        except forms.ValidationError as exc:  # allauth's "too many login attempts"
            lockout = lockout_get(request, key=_login_of(credentials)) or Lockout(
                retry_after_s=60, account=False, attempts=0, window_s=60
            )
            raise ImmediateHttpResponse(lockout_response(request, lockout)) from exc

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        super().authentication_failed(request, **credentials)
        lockout_record_if_locked(request, key=_login_of(credentials))


class ProviderNotConfigured(SocialApp.DoesNotExist, Http404):
    """allauth catches DoesNotExist where it expects it; anywhere else it is a 404, not a 500."""


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def get_app(self, request: HttpRequest, provider, client_id=None):
        try:
            return super().get_app(request, provider, client_id=client_id)
        except SocialApp.DoesNotExist as exc:
            raise ProviderNotConfigured(f"Sign-in with {provider} is not configured.") from exc

    def save_user(self, request: HttpRequest, sociallogin, form=None):
        with transaction.atomic():
            user = super().save_user(request, sociallogin, form)
            user_provision(user=user, method=f"social:{sociallogin.account.provider}")
        return user
