"""Confirmation tokens for high and critical operations (docs/agents.md).

A token is single-use, valid for OPERATIONS_CONFIRMATION_TTL_S (at most 5 minutes), and bound to
the caller (person or key), the tenant, the operation and the SHA-256 of the canonical input.
Redis keeps only the token's SHA-256, with what it is bound to; redeeming deletes it, and only
the redeemer whose delete removed it goes on, so two racing calls cannot both use one token."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

TOKEN_PREFIX = "qsc_"  # noqa: S105  (a prefix, not a secret)
MAX_TTL_S = 300


def input_hash(data: dict[str, Any]) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _ttl() -> int:
    return max(
        1, min(int(getattr(settings, "OPERATIONS_CONFIRMATION_TTL_S", MAX_TTL_S)), MAX_TTL_S)
    )


def _cache_key(token: str) -> str:
    return "ops:confirm:" + hashlib.sha256(token.encode()).hexdigest()


def _binding(*, caller: str, tenant_id: Any, operation: str, digest: str) -> dict[str, str]:
    return {
        "caller": caller,
        "tenant": str(tenant_id or ""),
        "operation": operation,
        "input": digest,
    }


def issue(*, caller: str, tenant_id: Any, operation: str, digest: str) -> tuple[str, dt.datetime]:
    token = TOKEN_PREFIX + secrets.token_urlsafe(24)
    ttl = _ttl()
    binding = _binding(caller=caller, tenant_id=tenant_id, operation=operation, digest=digest)
    cache.set(_cache_key(token), binding, timeout=ttl)
    return token, timezone.now() + dt.timedelta(seconds=ttl)


def redeem(token: str, *, caller: str, tenant_id: Any, operation: str, digest: str) -> bool:
    """True once for a token issued for exactly this caller, tenant, operation and input. A
    token presented by someone else, or for other input, is left as it is (and refused)."""
    if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return False
    key = _cache_key(token)
    stored = cache.get(key)
    expected = _binding(caller=caller, tenant_id=tenant_id, operation=operation, digest=digest)
    if stored is None or not secrets.compare_digest(json.dumps(stored), json.dumps(expected)):
        return False
    return bool(cache.delete(key))
