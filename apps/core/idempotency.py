"""Idempotency-Key for POST, kept in Redis for IDEMPOTENCY_KEY_TTL_S (24 h by default).

The same key with the same request returns the first response; with a different request it
answers 422; while the first request still runs it answers 409. Server errors and 429s are not
kept, so a client may retry them with the same key."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from .problems import ApplicationError, InvalidInput

MAX_KEY_LENGTH = 255
LOCK_TTL_S = 120


class IdempotencyKeyReused(ApplicationError):
    status = 422
    slug = "idempotency-key-reused"


class IdempotencyKeyInUse(ApplicationError):
    status = 409
    slug = "idempotency-key-in-use"


@dataclass(frozen=True)
class Claim:
    cache_key: str
    fingerprint: str


@dataclass(frozen=True)
class StoredResponse:
    status: int
    data: Any
    headers: dict[str, str]


class Replay(Exception):
    def __init__(self, stored: StoredResponse) -> None:
        super().__init__("idempotent replay")
        self.stored = stored


def _fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def claim(*, principal: str, key: str, method: str, path: str, body: bytes) -> Claim:
    """Reserve the key for this request, or raise Replay / a problem for a repeated one."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.", field="Idempotency-Key"
        )
    key_hash = hashlib.sha256(key.encode()).hexdigest()
    cache_key = f"idem:{connection.schema_name}:{principal}:{key_hash}"
    fingerprint = _fingerprint(method, path, body)
    if cache.add(cache_key, {"state": "running", "fp": fingerprint}, timeout=LOCK_TTL_S):
        return Claim(cache_key, fingerprint)
    entry = cache.get(cache_key)
    if entry is None:  # expired between add and get: take it now
        cache.set(cache_key, {"state": "running", "fp": fingerprint}, timeout=LOCK_TTL_S)
        return Claim(cache_key, fingerprint)
    if entry["fp"] != fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used with a different request. Use a new key."
        )
    if entry["state"] == "running":
        raise IdempotencyKeyInUse(
            "A request with this Idempotency-Key is still being processed. Retry shortly."
        )
    raise Replay(StoredResponse(entry["status"], entry["data"], entry["headers"]))


def complete(c: Claim, *, status: int, data: Any, headers: dict[str, str]) -> None:
    if status >= 500 or status == 429:
        cache.delete(c.cache_key)
        return
    entry = {
        "state": "done",
        "fp": c.fingerprint,
        "status": status,
        "data": json.loads(json.dumps(data, default=str)),
        "headers": headers,
    }
    cache.set(c.cache_key, entry, timeout=settings.IDEMPOTENCY_KEY_TTL_S)
