"""Encryption at rest for secrets kept in the database (env vars, webhook secrets, git URLs).

Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`, over the key list in
settings.FIELD_ENCRYPTION_KEYS: the first key encrypts, every key decrypts. Rotation: put a new
key first, run the re-encrypting command (`manage.py encryption_rotate`), then drop the old key,
no sooner than IDEMPOTENCY_KEY_TTL_S later (responses kept for Idempotency-Key replays, in Redis,
are encrypted too and are not re-encrypted; apps.core.idempotency).
With no key configured, one is derived from SECRET_KEY, which is fine locally and in tests only.

Columns hold the Fernet token (text); callers encrypt and decrypt explicitly, so plaintext is
never loaded by accident (in lists, admin pages or logs)."""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = ["DecryptionError", "decrypt", "encrypt", "key_generate", "needs_rotation", "rotate"]


class DecryptionError(Exception):
    """A token none of the configured keys opens (a key was dropped too early, or tampering)."""


def key_generate() -> str:
    return Fernet.generate_key().decode()


def _derived_key(secret: str) -> str:
    digest = hashlib.sha256(b"quayside-field-encryption:" + secret.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def _keys() -> tuple[str, ...]:
    keys = tuple(k.strip() for k in getattr(settings, "FIELD_ENCRYPTION_KEYS", []) if k.strip())
    if keys:
        return keys
    if not settings.SECRET_KEY:
        raise ImproperlyConfigured("Set FIELD_ENCRYPTION_KEYS (or at least SECRET_KEY).")
    return (_derived_key(settings.SECRET_KEY),)


@functools.lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS holds a key that is not 32 url-safe base64-encoded bytes "
            "(make one with apps.core.crypto.key_generate())."
        ) from exc


def encrypt(plaintext: str) -> str:
    return _fernet(_keys()).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(_keys()).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("No configured key decrypts this value.") from exc


def rotate(token: str) -> str:
    """The same plaintext, encrypted with the current first key."""
    try:
        return _fernet(_keys()).rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("No configured key decrypts this value.") from exc


def is_token(value: str) -> bool:
    """Whether `value` looks like what encrypt() makes (every Fernet token starts so), not
    plaintext stored before a column was encrypted."""
    return value.startswith("gAAAAA")


def needs_rotation(token: str) -> bool:
    """True when the first key cannot decrypt the token (an older key made it)."""
    try:
        Fernet(_keys()[0].encode()).decrypt(token.encode())
    except InvalidToken:
        return True
    return False
