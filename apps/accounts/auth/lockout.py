"""Account lockout after repeated failed logins.

The counting is allauth's own `login_failed` rate limit (settings.ACCOUNT_RATE_LIMITS: per IP,
and per account keyed by the lower-cased email): every password attempt consumes one hit, a
successful one gives its hit back, and a successful password reset clears the account's hits.
This module adds what allauth leaves out: the state of the limit (is the account locked, for how
long), the 429 answer with `Retry-After`, and the audit event when an account becomes locked.

allauth keeps its hits in the Django cache (Redis) under keys built by
`allauth.core.internal.ratelimit`; reading them through that module keeps us on its layout."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from allauth.core.internal import ratelimit
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.core.audit import audit_record

logger = logging.getLogger("quayside.auth")

APP = "allauth.account"
ACTION = "login_failed"


@dataclass(frozen=True)
class Lockout:
    retry_after_s: int
    # True when the account's own limit is exhausted; False when it is the caller's IP.
    account: bool
    attempts: int
    window_s: int


def login_key(login: str) -> str:
    """The identity hits are counted against: the email, compared case-insensitively."""
    return (login or "").strip().lower()


def lockout_get(request: HttpRequest, *, key: str) -> Lockout | None:
    """The exhausted `login_failed` limit that blocks this login, if any (reads only)."""
    now = time.time()
    found: Lockout | None = None
    for rate in ratelimit.get_rates(app=APP, action=ACTION):
        cache_key = ratelimit.get_cache_key(request, app=APP, action=ACTION, rate=rate, key=key)
        # Newest first, as allauth stores them; expired hits do not count.
        hits = [ts for ts in cache.get(cache_key, []) if ts > now - rate.duration]
        if len(hits) < rate.amount:
            continue
        # The lock lifts when the oldest hit that still fills the limit expires.
        retry_after_s = max(1, math.ceil(hits[rate.amount - 1] + rate.duration - now))
        lockout = Lockout(
            retry_after_s=retry_after_s,
            account=rate.per == "key",
            attempts=rate.amount,
            window_s=int(rate.duration),
        )
        if found is None or lockout.retry_after_s > found.retry_after_s:
            found = lockout
    return found


def lockout_record_if_locked(request: HttpRequest, *, key: str) -> Lockout | None:
    """Called after a failed attempt: audits the account becoming locked by this failure.

    Once locked, attempts are refused before they are counted, so this sees each lockout once."""
    lockout = lockout_get(request, key=key)
    if lockout is None or not lockout.account:
        return lockout
    user = get_user_model().objects.filter(email__iexact=key).first()
    audit_record(
        action="user.locked_out",
        target=user,
        target_type="" if user else "accounts.user",
        metadata={
            "email": key,
            "known_account": user is not None,
            "failed_attempts": lockout.attempts,
            "window_s": lockout.window_s,
            "retry_after_s": lockout.retry_after_s,
        },
        severity="warning",
    )
    logger.warning("Login locked for %s for %ss", key, lockout.retry_after_s)
    return lockout


def lockout_response(request: HttpRequest, lockout: Lockout) -> HttpResponse:
    """429 with `Retry-After`: allauth's JSON error shape on the headless API, a page otherwise."""
    minutes = max(1, math.ceil(lockout.retry_after_s / 60))
    if hasattr(getattr(request, "allauth", None), "headless"):
        from allauth.account.adapter import get_adapter
        from allauth.headless.internal.restkit.response import APIResponse

        message = get_adapter().error_messages["too_many_login_attempts"]
        response: HttpResponse = APIResponse(
            request,
            errors=[{"code": "too_many_login_attempts", "message": str(message)}],
            meta={"retry_after_s": lockout.retry_after_s},
            status=429,
        )
    else:
        response = render(
            request,
            "account/login_locked.html",
            {"lockout": lockout, "retry_after_min": minutes},
            status=429,
        )
    response["Retry-After"] = str(lockout.retry_after_s)
    return response
