"""Idempotency-Key for POST, kept in Redis for IDEMPOTENCY_KEY_TTL_S (24 h by default).

The same key with the same request returns the first response; with a different request it
answers 422; while the first request still runs it answers 409. Server errors and 429s are not
kept, so a client may retry them with the same key.

A kept response may hold a secret shown once (a webhook signing secret, a git webhook secret),
and a client that lost the first answer must get it again, so the response is kept, but
encrypted (apps.core.crypto): Redis holds a Fernet token, the request's fingerprint as an HMAC
(a plain hash of a body would let a guessable secret in it be tested offline), and the key's
hash. Keep a retired FIELD_ENCRYPTION_KEYS key for IDEMPOTENCY_KEY_TTL_S after a rotation;
a response no key opens answers 409 (use a new key).

A view opts out with `idempotent = False` (class) or `@not_idempotent` (one action, see
apps/core/api/views.py): the key is then ignored, every call runs and nothing is kept. Revealing
an env var does so: it changes nothing, and each reveal must be audited."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from . import crypto
from .problems import ApplicationError, Conflict, InvalidInput

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


VERSION = 2  # entries with an HMAC fingerprint and an encrypted response


def _fingerprint(method: str, path: str, body: bytes, *, keyed: bool = True) -> str:
    """HMAC-SHA256 of the request under a key derived from SECRET_KEY (`keyed=False`: the plain
    SHA-256 of entries written before VERSION 2, still replayed until they expire)."""
    if keyed:
        key = hashlib.sha256(b"quayside-idempotency:" + settings.SECRET_KEY.encode()).digest()
        digest = hmac.new(key, digestmod=hashlib.sha256)
    else:
        digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _stored(entry: dict) -> StoredResponse:
    if entry.get("v") != VERSION:  # written before responses were encrypted
        return StoredResponse(entry["status"], entry["data"], entry["headers"])
    try:
        kept = json.loads(crypto.decrypt(entry["response"]))
    except crypto.DecryptionError as exc:
        raise Conflict(
            "The response kept for this Idempotency-Key can no longer be read. Use a new key."
        ) from exc
    return StoredResponse(kept["status"], kept["data"], kept["headers"])


def claim(*, principal: str, key: str, method: str, path: str, body: bytes) -> Claim:
    """Reserve the key for this request, or raise Replay / a problem for a repeated one."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.", field="Idempotency-Key"
        )
    key_hash = hashlib.sha256(key.encode()).hexdigest()
    cache_key = f"idem:{connection.schema_name}:{principal}:{key_hash}"
    fingerprint = _fingerprint(method, path, body)
    running = {"v": VERSION, "state": "running", "fp": fingerprint}
    if cache.add(cache_key, running, timeout=LOCK_TTL_S):
        return Claim(cache_key, fingerprint)
    entry = cache.get(cache_key)
    if entry is None:  # expired between add and get: take it now
        cache.set(cache_key, running, timeout=LOCK_TTL_S)
        return Claim(cache_key, fingerprint)
    if entry.get("v") != VERSION:
        fingerprint = _fingerprint(method, path, body, keyed=False)
    if entry["fp"] != fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used with a different request. Use a new key."
        )
    if entry["state"] == "running":
        raise IdempotencyKeyInUse(
            "A request with this Idempotency-Key is still being processed. Retry shortly."
        )
    raise Replay(_stored(entry))


def complete(c: Claim, *, status: int, data: Any, headers: dict[str, str]) -> None:
    if status >= 500 or status == 429:
        cache.delete(c.cache_key)
        return
    response = json.dumps({"status": status, "data": data, "headers": headers}, default=str)
    entry = {
        "v": VERSION,
        "state": "done",
        "fp": c.fingerprint,
        "response": crypto.encrypt(response),
    }
    cache.set(c.cache_key, entry, timeout=settings.IDEMPOTENCY_KEY_TTL_S)
