"""Encryption at rest of backups, a chunk at a time, so a backup never sits whole in memory.

A stream is a header and then records, each one chunk of plaintext sealed with AES-256-GCM:

    header  = b"QSBK" | version (1 byte) | key id (8) | nonce prefix (7, random) | chunk size (4)
    record  = final flag (1) | ciphertext length (4) | ciphertext (chunk + 16-byte tag)
    nonce   = nonce prefix (7) | record index (4, big-endian) | final flag (1)

This is the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015): the index and the
final flag are in the nonce, so a record moved, dropped, repeated or falsely marked final fails its
tag; the whole header is each record's associated data, so it cannot be altered either; and a
stream that ends before a final record (a truncated object) is refused. Every record but the last
holds exactly `chunk size` bytes; the last holds what is left (possibly nothing).

Keys: settings.ADDONS_BACKUP_KEYS, url-safe base64 of 32 random bytes each (`key_generate()`).
The first key encrypts, every key decrypts (the header names its key by id): to rotate, put a new
key first and drop the old one once no kept backup uses it (retention ages them out). With no key
configured one is derived from SECRET_KEY, like apps.core.crypto: fine locally and in tests only.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
from collections.abc import Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "CHUNK_SIZE",
    "BackupDecryptionError",
    "current_key_id",
    "decrypt_stream",
    "encrypt_stream",
    "key_generate",
    "stream_key_id",
]

MAGIC = b"QSBK"
VERSION = 1
CHUNK_SIZE = 1024 * 1024
MAX_CHUNK_SIZE = 16 * 1024 * 1024  # what a header may claim: bounds the memory a reader gives
TAG_SIZE = 16
_HEADER = struct.Struct(">4sB8s7sI")
_RECORD = struct.Struct(">BI")
_MAX_RECORDS = 2**32


class BackupDecryptionError(Exception):
    """A stream that is not ours, was altered or truncated, or whose key is not configured."""


def key_generate() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"quayside-backup-key-id:" + key).digest()[:8]


def _decode(text: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode())
    except ValueError as exc:
        raise ImproperlyConfigured("ADDONS_BACKUP_KEYS holds a key that is not base64.") from exc
    if len(key) != 32:
        raise ImproperlyConfigured(
            "ADDONS_BACKUP_KEYS holds a key that is not 32 bytes "
            "(make one with apps.addons.backups.crypto.key_generate())."
        )
    return key


def _keys() -> list[bytes]:
    configured = [k for k in getattr(settings, "ADDONS_BACKUP_KEYS", []) if k.strip()]
    if configured:
        return [_decode(k) for k in configured]
    if not settings.SECRET_KEY:
        raise ImproperlyConfigured("Set ADDONS_BACKUP_KEYS (or at least SECRET_KEY).")
    return [hashlib.sha256(b"quayside-addon-backups:" + settings.SECRET_KEY.encode()).digest()]


def _nonce(prefix: bytes, index: int, final: bool) -> bytes:
    if index >= _MAX_RECORDS:
        raise ValueError("Stream too long for one nonce prefix.")
    return prefix + index.to_bytes(4, "big") + (b"\x01" if final else b"\x00")


def encrypt_stream(chunks: Iterable[bytes], *, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The encrypted stream of the plaintext `chunks` (any sizes), under the first key.
    Holds at most one chunk plus the largest input piece in memory."""
    if not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be 1..{MAX_CHUNK_SIZE}")
    key = _keys()[0]
    aead = AESGCM(key)
    prefix = os.urandom(7)
    header = _HEADER.pack(MAGIC, VERSION, _key_id(key), prefix, chunk_size)
    yield header
    index = 0
    buffer = bytearray()

    def seal(piece: bytes | memoryview, final: bool) -> bytes:
        sealed = aead.encrypt(_nonce(prefix, index, final), bytes(piece), header)
        return _RECORD.pack(1 if final else 0, len(sealed)) + sealed

    for chunk in chunks:
        buffer += chunk
        while len(buffer) > chunk_size:
            # ">" not ">=": a buffer of exactly one chunk may be the last, sealed as final below.
            with memoryview(buffer) as view:
                record = seal(view[:chunk_size], final=False)
            del buffer[:chunk_size]
            index += 1
            yield record
    yield seal(buffer, final=True)


class _Reader:
    """Exact-length reads over an iterable of byte chunks."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = bytearray()

    def read(self, size: int) -> bytes:
        while len(self._buffer) < size:
            try:
                self._buffer += next(self._chunks)
            except StopIteration:
                break
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out

    def at_end(self) -> bool:
        return not self.read_ahead()

    def read_ahead(self) -> bool:
        while not self._buffer:
            try:
                self._buffer += next(self._chunks)
            except StopIteration:
                return False
        return True


def _read_header(reader: _Reader) -> tuple[bytes, bytes, bytes, int]:
    raw = reader.read(_HEADER.size)
    if len(raw) < _HEADER.size:
        raise BackupDecryptionError("Not an encrypted backup (too short).")
    magic, version, key_id, prefix, chunk_size = _HEADER.unpack(raw)
    if magic != MAGIC:
        raise BackupDecryptionError("Not an encrypted backup.")
    if version != VERSION:
        raise BackupDecryptionError(f"Unknown backup format version {version}.")
    if not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise BackupDecryptionError("Corrupt backup header.")
    return raw, key_id, prefix, chunk_size


def current_key_id() -> str:
    """The id (hex) of the key new backups are encrypted with."""
    return _key_id(_keys()[0]).hex()


def stream_key_id(first_bytes: bytes) -> str:
    """The id (hex) of the key that encrypted a stream starting with `first_bytes`."""
    _, key_id, _, _ = _read_header(_Reader([first_bytes]))
    return key_id.hex()


def decrypt_stream(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The plaintext of an encrypted stream, a chunk at a time. Raises BackupDecryptionError as
    soon as something is wrong; a consumer must treat what it got before that as garbage."""
    reader = _Reader(chunks)
    header, key_id, prefix, chunk_size = _read_header(reader)
    keys = {_key_id(k): k for k in _keys()}
    if key_id not in keys:
        raise BackupDecryptionError(
            f"The key {key_id.hex()} that encrypted this backup is not configured."
        )
    aead = AESGCM(keys[key_id])
    index = 0
    while True:
        raw = reader.read(_RECORD.size)
        if len(raw) < _RECORD.size:
            raise BackupDecryptionError("The backup is truncated.")
        flag, length = _RECORD.unpack(raw)
        if flag not in (0, 1) or not TAG_SIZE <= length <= chunk_size + TAG_SIZE:
            raise BackupDecryptionError("The backup is corrupt.")
        sealed = reader.read(length)
        if len(sealed) < length:
            raise BackupDecryptionError("The backup is truncated.")
        final = flag == 1
        try:
            plain = aead.decrypt(_nonce(prefix, index, final), sealed, header)
        except InvalidTag as exc:
            raise BackupDecryptionError(f"Chunk {index} of the backup was altered.") from exc
        if not final and len(plain) != chunk_size:
            raise BackupDecryptionError("The backup is corrupt.")
        index += 1
        if final:
            if not reader.at_end():
                raise BackupDecryptionError("The backup has data after its end.")
            if plain:
                yield plain
            return
        yield plain
