"""Where backups are kept: one small interface, two backends, chosen by settings.

    storage = backup_storage()        # settings.ADDONS_BACKUP_STORAGE: "local" (default) or "s3"
    size = storage.write(key, chunks) # streams; the object appears whole or not at all
    for chunk in storage.read(key): …
    storage.exists(key); storage.delete(key)

Keys are relative paths of `[A-Za-z0-9._-]` segments joined by "/" (`<tenant>/<addon>/<id>.qsbk`).
Backends see only ciphertext (crypto.py encrypts before writing), and neither holds a whole
object in memory: the local backend writes a temporary file in the target directory and renames it
into place; the S3 backend uploads parts of ADDONS_BACKUP_S3_PART_MB (multipart upload, aborted
on any error) and reads the body in chunks.

- local: files under ADDONS_BACKUP_DIR (made 0700; files 0600).
- s3: any S3-compatible service through boto3 (ADDONS_BACKUP_S3_ENDPOINT_URL, _BUCKET,
  _ACCESS_KEY, _SECRET_KEY, _REGION). The tests run it against moto's S3 server.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "BackupStorage",
    "LocalStorage",
    "S3Storage",
    "StorageError",
    "backup_storage",
    "key_validate",
]

READ_CHUNK = 1024 * 1024
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")


class StorageError(Exception):
    """The backend failed (or the object is missing); the message is safe to show an operator."""


class BackupStorage(Protocol):
    def write(self, key: str, chunks: Iterable[bytes]) -> int:
        """Store the object `key` from `chunks`; returns its size in bytes. Replaces an object
        of that key; on any error (also one raised by `chunks`) nothing is left behind."""

    def read(self, key: str) -> Iterator[bytes]:
        """The object's bytes, a chunk at a time. StorageError if it does not exist."""

    def delete(self, key: str) -> None:
        """Remove the object; no error if it does not exist."""

    def exists(self, key: str) -> bool: ...


def key_validate(key: str) -> str:
    """The key itself, or ValueError: no absolute paths, no "..", no odd characters."""
    parts = key.split("/")
    if not key or len(key) > 512 or not all(_SEGMENT.fullmatch(p) for p in parts):
        raise ValueError(f"Invalid backup storage key: {key!r}")
    if any(p in (".", "..") for p in parts):
        raise ValueError(f"Invalid backup storage key: {key!r}")
    return key


class LocalStorage:
    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def _ensure_root(self) -> None:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.root.stat().st_mode & 0o077:
            self.root.chmod(0o700)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*key_validate(key).split("/"))

    def write(self, key: str, chunks: Iterable[bytes]) -> int:
        path = self._path(key)
        self._ensure_root()
        directory = self.root
        for part in path.relative_to(self.root).parts[:-1]:
            directory = directory / part
            directory.mkdir(mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".partial-")  # mode 0600
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return size

    def read(self, key: str) -> Iterator[bytes]:
        path = self._path(key)
        try:
            handle = path.open("rb")
        except FileNotFoundError as exc:
            raise StorageError(f"Backup object {key} does not exist.") from exc
        return self._chunks(handle)

    @staticmethod
    def _chunks(handle) -> Iterator[bytes]:
        with handle:
            while chunk := handle.read(READ_CHUNK):
                yield chunk

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


class S3Storage:
    MIN_PART = 5 * 1024 * 1024  # S3's smallest part but the last

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str = "",
        access_key: str = "",
        secret_key: str = "",
        region: str = "",
        prefix: str = "",
        part_size: int = 8 * 1024 * 1024,
    ) -> None:
        import boto3
        from botocore.config import Config

        if not bucket:
            raise ImproperlyConfigured("ADDONS_BACKUP_S3_BUCKET is required for S3 storage.")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.part_size = max(part_size, self.MIN_PART)
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            region_name=region or None,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=10),
        )

    def _key(self, key: str) -> str:
        key_validate(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def write(self, key: str, chunks: Iterable[bytes]) -> int:
        name = self._key(key)
        buffer = bytearray()
        iterator = iter(chunks)
        # Up to one part: small objects go up in one PUT (a multipart upload needs one part).
        for chunk in iterator:
            buffer += chunk
            if len(buffer) >= self.part_size:
                return self._multipart(name, buffer, iterator)
        self.client.put_object(Bucket=self.bucket, Key=name, Body=bytes(buffer))
        return len(buffer)

    def _multipart(self, name: str, buffer: bytearray, rest: Iterator[bytes]) -> int:
        upload = self.client.create_multipart_upload(Bucket=self.bucket, Key=name)
        upload_id = upload["UploadId"]
        parts: list[dict] = []
        size = 0

        def send(data: bytes) -> None:
            number = len(parts) + 1
            answer = self.client.upload_part(
                Bucket=self.bucket, Key=name, UploadId=upload_id, PartNumber=number, Body=data
            )
            parts.append({"ETag": answer["ETag"], "PartNumber": number})

        try:
            for chunk in rest:
                buffer += chunk
                while len(buffer) >= self.part_size:
                    send(bytes(buffer[: self.part_size]))
                    size += self.part_size
                    del buffer[: self.part_size]
            if buffer or not parts:
                send(bytes(buffer))
                size += len(buffer)
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=name,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            with contextlib.suppress(Exception):  # the first error is the one to report
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload_id)
            raise
        return size

    def read(self, key: str) -> Iterator[bytes]:
        from botocore.exceptions import ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise StorageError(f"Backup object {key} does not exist.") from exc
            raise StorageError(f"Object storage refused to read {key}: {exc}") from exc
        return self._chunks(answer["Body"])

    @staticmethod
    def _chunks(body) -> Iterator[bytes]:
        try:
            yield from body.iter_chunks(READ_CHUNK)
        finally:
            body.close()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True


def storage_from_settings() -> BackupStorage:
    kind = getattr(settings, "ADDONS_BACKUP_STORAGE", "local")
    if kind == "local":
        return LocalStorage(settings.ADDONS_BACKUP_DIR)
    if kind == "s3":
        return S3Storage(
            bucket=settings.ADDONS_BACKUP_S3_BUCKET,
            endpoint_url=settings.ADDONS_BACKUP_S3_ENDPOINT_URL,
            access_key=settings.ADDONS_BACKUP_S3_ACCESS_KEY,
            secret_key=settings.ADDONS_BACKUP_S3_SECRET_KEY,
            region=settings.ADDONS_BACKUP_S3_REGION,
            prefix=getattr(settings, "ADDONS_BACKUP_S3_PREFIX", ""),
            part_size=getattr(settings, "ADDONS_BACKUP_S3_PART_MB", 8) * 1024 * 1024,
        )
    raise ImproperlyConfigured(f"ADDONS_BACKUP_STORAGE must be 'local' or 's3', not {kind!r}.")


@functools.cache
def _cached(signature: tuple) -> BackupStorage:
    return storage_from_settings()


def backup_storage() -> BackupStorage:
    """The configured backend (one client per configuration, reused)."""
    signature = tuple(
        str(getattr(settings, name, ""))
        for name in (
            "ADDONS_BACKUP_STORAGE",
            "ADDONS_BACKUP_DIR",
            "ADDONS_BACKUP_S3_ENDPOINT_URL",
            "ADDONS_BACKUP_S3_BUCKET",
            "ADDONS_BACKUP_S3_ACCESS_KEY",
            "ADDONS_BACKUP_S3_SECRET_KEY",
            "ADDONS_BACKUP_S3_REGION",
            "ADDONS_BACKUP_S3_PREFIX",
        )
    )
    return _cached(signature)
