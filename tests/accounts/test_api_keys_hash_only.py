"""The database keeps the SHA-256 of a key, never the key: no column of any row holds it."""

import hashlib

import pytest
from django.db import connection

from apps.accounts.models import ApiKey

pytestmark = pytest.mark.django_db


def _rows(table: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT * FROM "{table}"')
        return cursor.fetchall()


def test_only_the_hash_prefix_and_last8_are_stored(client_for, world):
    client = client_for(world["alice"], world["tenant_a"])
    body = client.post("/api/v1/api-keys", {"name": "CI", "authority": "member"}).json()
    raw_key = body["key"]

    api_key = ApiKey.objects.get(pk=body["id"])
    assert api_key.key_hash == hashlib.sha256(raw_key.encode()).hexdigest()
    assert api_key.prefix == raw_key[:9] and api_key.last8 == raw_key[-8:]

    # Every column of every row of the key table and of the audit log, as text.
    for table in (ApiKey._meta.db_table, "core_auditevent"):
        rows = _rows(table)
        assert rows
        for row in rows:
            for value in row:
                assert raw_key not in str(value), f"raw key found in {table}"
                assert raw_key[9:-8] not in str(value), f"secret middle found in {table}"
