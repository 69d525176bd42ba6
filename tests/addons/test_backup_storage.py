"""Backup storage (apps/addons/backups/storage.py): one contract, run against the local-directory
backend and the S3 backend. S3 is moto's server (`moto_server`, a local S3 emulator started here
as a process on a free port), spoken to over HTTP by boto3 as a real S3 service would be."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
import uuid

import pytest

from apps.addons.backups.crypto import decrypt_stream, encrypt_stream
from apps.addons.backups.storage import (
    LocalStorage,
    S3Storage,
    StorageError,
    backup_storage,
    key_validate,
)

MiB = 1024 * 1024
BUCKET = "qs-backups"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    """moto's S3 server for this module, with the bucket made."""
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"moto_server did not start: {log.read_text()[-2000:]}")
                time.sleep(0.1)
        _s3(url).client.create_bucket(Bucket=BUCKET)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def _s3(url: str, **kwargs) -> S3Storage:
    return S3Storage(
        bucket=BUCKET,
        endpoint_url=url,
        access_key="test-access",
        secret_key="test-secret",
        region="us-east-1",
        **kwargs,
    )


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "backups")
    # A prefix of this test's own: tests share the module's bucket.
    return _s3(request.getfixturevalue("s3_endpoint"), prefix=uuid.uuid4().hex, part_size=5 * MiB)


def _chunks(total: int, size: int = MiB):
    block = os.urandom(size)
    sent = 0
    while sent < total:
        piece = block[: min(size, total - sent)]
        sent += len(piece)
        yield piece


def _read(storage, key) -> bytes:
    return b"".join(storage.read(key))


@pytest.mark.parametrize("size", [0, 10, 5 * MiB, 12 * MiB + 3])
def test_write_read_round_trip(storage, size):
    data = b"".join(_chunks(size)) if size else b""
    key = f"tenant/addon/{size}.qsbk"
    assert not storage.exists(key)
    assert storage.write(key, iter([data[i : i + MiB] for i in range(0, len(data), MiB)])) == size
    assert storage.exists(key)
    assert _read(storage, key) == data
    storage.delete(key)
    assert not storage.exists(key)
    storage.delete(key)  # twice: no error


def test_a_failed_write_leaves_nothing_and_keeps_the_old_object(storage):
    key = "t/a/b.qsbk"
    storage.write(key, [b"the old backup"])

    def broken():
        yield from _chunks(11 * MiB)  # past two parts on S3: a multipart upload is under way
        raise RuntimeError("pg_dump died")

    with pytest.raises(RuntimeError, match="pg_dump died"):
        storage.write(key, broken())
    assert _read(storage, key) == b"the old backup"
    if isinstance(storage, S3Storage):
        uploads = storage.client.list_multipart_uploads(Bucket=BUCKET)
        assert not uploads.get("Uploads"), "the multipart upload was not aborted"
    else:
        assert [p.name for p in storage.root.rglob("*") if p.is_file()] == ["b.qsbk"]


def test_reading_a_missing_object_is_a_storage_error(storage):
    with pytest.raises(StorageError, match="does not exist"):
        _read(storage, "t/a/missing.qsbk")


@pytest.mark.parametrize(
    "key", ["", "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b", "a/b c", ".hidden", "a\\b"]
)
def test_keys_cannot_escape_or_surprise(storage, key):
    with pytest.raises(ValueError):
        storage.write(key, [b"x"])
    with pytest.raises(ValueError):
        key_validate(key)


def test_local_directory_and_files_are_private(tmp_path):
    root = tmp_path / "backups"
    storage = LocalStorage(root)
    storage.write("t/a/1.qsbk", [b"secret"])
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE((root / "t").stat().st_mode) == 0o700
    assert stat.S_IMODE((root / "t" / "a" / "1.qsbk").stat().st_mode) == 0o600


def test_s3_uploads_in_parts_without_holding_the_object(s3_endpoint):
    storage = _s3(s3_endpoint, part_size=5 * MiB)
    calls = []
    original = storage.client.upload_part

    def counting(**kwargs):
        calls.append(len(kwargs["Body"]))
        return original(**kwargs)

    storage.client.upload_part = counting
    assert storage.write("t/a/parts.qsbk", _chunks(16 * MiB)) == 16 * MiB
    assert calls == [5 * MiB, 5 * MiB, 5 * MiB, 1 * MiB]
    head = storage.client.head_object(Bucket=BUCKET, Key="t/a/parts.qsbk")
    assert head["ContentLength"] == 16 * MiB


def test_backend_chosen_by_settings(settings, tmp_path, s3_endpoint):
    settings.ADDONS_BACKUP_STORAGE = "local"
    settings.ADDONS_BACKUP_DIR = str(tmp_path / "chosen")
    local = backup_storage()
    assert isinstance(local, LocalStorage) and local.root == tmp_path / "chosen"
    settings.ADDONS_BACKUP_STORAGE = "s3"
    settings.ADDONS_BACKUP_S3_ENDPOINT_URL = s3_endpoint
    settings.ADDONS_BACKUP_S3_BUCKET = BUCKET
    settings.ADDONS_BACKUP_S3_ACCESS_KEY = "k"
    settings.ADDONS_BACKUP_S3_SECRET_KEY = "s"
    settings.ADDONS_BACKUP_S3_REGION = "us-east-1"
    remote = backup_storage()
    assert isinstance(remote, S3Storage)
    remote.write("t/a/settings.qsbk", [b"via settings"])
    assert _read(remote, "t/a/settings.qsbk") == b"via settings"


def test_an_encrypted_backup_through_s3_comes_back(s3_endpoint):
    """What a backup does: encrypt while uploading in parts, then read and decrypt in chunks."""
    storage = _s3(s3_endpoint, part_size=5 * MiB)
    data = b"".join(_chunks(7 * MiB + 11))
    pieces = [data[i : i + MiB] for i in range(0, len(data), MiB)]
    size = storage.write("t/a/enc.qsbk", encrypt_stream(iter(pieces)))
    assert size > len(data)
    stored = _read(storage, "t/a/enc.qsbk")
    assert data[:64] not in stored
    assert b"".join(decrypt_stream(storage.read("t/a/enc.qsbk"))) == data
