"""Named PostgreSQL advisory locks held until the end of the current transaction."""

from __future__ import annotations

import hashlib

from django.db import connection


def advisory_key(name: str) -> int:
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def advisory_xact_lock(name: str) -> None:
    """Wait for, then hold until commit or rollback, the lock called `name`. Serialises a
    check-then-write (a quota, one customer's events) without locking any row others update."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [advisory_key(name)])
