"""`last_used_at` is written on first use and then at most once a minute, by one conditional
UPDATE (never read-modify-write)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import ApiKey
from apps.accounts.services import api_key_create, api_key_mark_used

pytestmark = pytest.mark.django_db


def _key_updates(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith('UPDATE "accounts_apikey"')]


@pytest.fixture
def key_and_client(world):
    api_key, raw_key = api_key_create(tenant=world["tenant_a"], name="ci", authority="admin")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}", HTTP_X_TENANT_ID="alpha")
    return api_key, client


def test_first_use_writes_and_a_second_within_a_minute_does_not(key_and_client):
    api_key, client = key_and_client
    assert api_key.last_used_at is None

    with CaptureQueriesContext(connection) as first:
        assert client.get("/api/v1/api-keys").status_code == 200
    api_key.refresh_from_db()
    first_use = api_key.last_used_at
    assert first_use is not None
    assert abs(timezone.now() - first_use) < dt.timedelta(seconds=10)

    with CaptureQueriesContext(connection) as second:
        assert client.get("/api/v1/api-keys").status_code == 200
    api_key.refresh_from_db()

    assert api_key.last_used_at == first_use
    [update] = _key_updates(first.captured_queries)
    assert "last_used_at" in update and "IS NULL" in update and "<" in update
    # The second request read a recent last_used_at with the key and skipped the statement.
    assert _key_updates(second.captured_queries) == []


def test_a_use_after_a_minute_writes_again(key_and_client):
    api_key, client = key_and_client
    long_ago = timezone.now() - dt.timedelta(seconds=61)
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=long_ago)

    assert client.get("/api/v1/api-keys").status_code == 200

    api_key.refresh_from_db()
    assert api_key.last_used_at > long_ago + dt.timedelta(seconds=60)


@pytest.mark.parametrize(("seconds_ago", "writes"), [(None, True), (59, False), (61, True)])
def test_mark_used_writes_only_when_the_last_write_is_older_than_a_minute(
    seconds_ago, writes, world
):
    api_key, _ = api_key_create(tenant=world["tenant_a"], name="k", authority="member")
    if seconds_ago is not None:
        api_key.last_used_at = timezone.now() - dt.timedelta(seconds=seconds_ago)
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=api_key.last_used_at)
    before = api_key.last_used_at

    assert api_key_mark_used(api_key=api_key) is writes

    api_key.refresh_from_db()
    assert (api_key.last_used_at != before) is writes


def test_a_concurrent_request_holding_a_stale_row_does_not_write_again(world):
    """Two requests read the key before either wrote: the database condition lets one write."""
    api_key, _ = api_key_create(tenant=world["tenant_a"], name="k", authority="member")
    first_reader = ApiKey.objects.get(pk=api_key.pk)
    second_reader = ApiKey.objects.get(pk=api_key.pk)
    assert first_reader.last_used_at is second_reader.last_used_at is None

    assert api_key_mark_used(api_key=first_reader) is True
    with CaptureQueriesContext(connection) as ctx:
        assert api_key_mark_used(api_key=second_reader) is False

    assert len(_key_updates(ctx.captured_queries)) == 1  # tried, matched no row
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == first_reader.last_used_at


def test_the_list_shows_last_use(key_and_client):
    _, client = key_and_client
    rows = client.get("/api/v1/api-keys").json()["results"]
    assert rows[0]["last_used_at"] is not None
