"""Test helpers for apps.core.locks (advisory locks), shared by every domain's quota tests."""

from __future__ import annotations

import psycopg
from django.db import connection

from apps.core.locks import advisory_key


def lock_taken_elsewhere(name: str) -> bool:
    """Whether another transaction holds the advisory lock `name` (asked from a connection of
    its own, so the test's open transaction is seen as "elsewhere")."""
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        row = other.execute("SELECT pg_try_advisory_lock(%s)", [advisory_key(name)]).fetchone()
        if row[0]:
            other.execute("SELECT pg_advisory_unlock(%s)", [advisory_key(name)])
        return not row[0]
