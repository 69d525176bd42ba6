"""Encryption at rest of backups (apps/addons/backups/crypto.py): a chunked AES-GCM stream that
detects truncation, reordering and tampering, rotates keys, and never holds a backup whole."""

from __future__ import annotations

import os
import struct
import tracemalloc

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.addons.backups import crypto
from apps.addons.backups.crypto import BackupDecryptionError, decrypt_stream, encrypt_stream

HEADER = 24
RECORD = 5


def _pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def _records(blob: bytes) -> tuple[bytes, list[bytes]]:
    """The header and the records (flag + length + ciphertext each) of an encrypted blob."""
    header, rest, out = blob[:HEADER], blob[HEADER:], []
    while rest:
        _, length = struct.unpack(">BI", rest[:RECORD])
        out.append(rest[: RECORD + length])
        rest = rest[RECORD + length :]
    return header, out


@pytest.mark.parametrize("size", [0, 1, 999, 1000, 1001, 4000, 12_345])
def test_round_trip_at_every_boundary(size):
    data = os.urandom(size)
    blob = b"".join(encrypt_stream(_pieces(data, 333) or [b""], chunk_size=1000))
    if size >= 16:
        assert data[:16] not in blob
    # Whatever pieces the ciphertext arrives in, the plaintext comes back.
    assert b"".join(decrypt_stream(_pieces(blob, 77))) == data
    assert b"".join(decrypt_stream([blob])) == data


def test_each_stream_has_its_own_nonces():
    data = b"same plaintext" * 100
    assert b"".join(encrypt_stream([data])) != b"".join(encrypt_stream([data]))


def _blob(size=3500) -> bytes:
    return b"".join(encrypt_stream([os.urandom(size)], chunk_size=1000))


def test_truncation_is_detected():
    blob = _blob()
    header, records = _records(blob)
    assert len(records) == 4
    # Cut at a record boundary (the final record missing), and in the middle of one.
    for cut in (header + b"".join(records[:3]), blob[:-1], blob[: HEADER + 2]):
        with pytest.raises(BackupDecryptionError, match="truncated"):
            b"".join(decrypt_stream([cut]))


def test_reordered_dropped_or_repeated_records_are_detected():
    header, records = _records(_blob())
    for bad in (
        [records[1], records[0], *records[2:]],
        [records[0], *records[2:]],
        [records[0], records[0], *records[1:]],
    ):
        with pytest.raises(BackupDecryptionError, match="altered"):
            b"".join(decrypt_stream([header + b"".join(bad)]))


def test_a_record_falsely_marked_final_is_detected():
    header, records = _records(_blob())
    forged = b"\x01" + records[0][1:]
    with pytest.raises(BackupDecryptionError, match="altered"):
        b"".join(decrypt_stream([header + forged]))


def test_flipped_bits_in_header_or_body_are_detected():
    blob = bytearray(_blob())
    body = bytearray(blob)
    body[HEADER + RECORD + 10] ^= 1
    with pytest.raises(BackupDecryptionError, match="altered"):
        b"".join(decrypt_stream([bytes(body)]))
    header = bytearray(blob)
    header[15] ^= 1  # in the nonce prefix: authenticated as associated data
    with pytest.raises(BackupDecryptionError, match="altered"):
        b"".join(decrypt_stream([bytes(header)]))


def test_trailing_data_and_foreign_input_are_refused():
    with pytest.raises(BackupDecryptionError, match="after its end"):
        b"".join(decrypt_stream([_blob() + b"x"]))
    with pytest.raises(BackupDecryptionError, match="Not an encrypted backup"):
        b"".join(decrypt_stream([b"PGDMP" + b"\x00" * 100]))
    with pytest.raises(BackupDecryptionError, match="too short"):
        b"".join(decrypt_stream([]))


def test_keys_rotate_first_encrypts_all_decrypt(settings):
    old, new = crypto.key_generate(), crypto.key_generate()
    settings.ADDONS_BACKUP_KEYS = [old]
    before = b"".join(encrypt_stream([b"kept under the old key"]))
    settings.ADDONS_BACKUP_KEYS = [new, old]
    after = b"".join(encrypt_stream([b"under the new key"]))
    assert crypto.stream_key_id(after[:HEADER]) != crypto.stream_key_id(before[:HEADER])
    assert b"".join(decrypt_stream([before])) == b"kept under the old key"
    assert b"".join(decrypt_stream([after])) == b"under the new key"
    settings.ADDONS_BACKUP_KEYS = [new]
    with pytest.raises(BackupDecryptionError, match="not configured"):
        b"".join(decrypt_stream([before]))


def test_a_bad_key_setting_is_an_configuration_error(settings):
    settings.ADDONS_BACKUP_KEYS = ["too-short"]
    with pytest.raises(ImproperlyConfigured):
        b"".join(encrypt_stream([b"x"]))


def test_100_mb_never_whole_in_memory():
    """100 MB through encrypt then decrypt, streamed: the peak of Python allocations stays far
    below the size of the data (a few chunks of 1 MiB)."""
    piece = os.urandom(256 * 1024)
    total = 100 * 1024 * 1024

    def source():
        for _ in range(total // len(piece)):
            yield piece

    tracemalloc.start()
    try:
        seen = 0
        for plain in decrypt_stream(encrypt_stream(source())):
            seen += len(plain)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == total
    assert peak < 16 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"
