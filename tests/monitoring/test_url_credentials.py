"""Basic credentials in an HTTP monitor's URL: stored encrypted, never in `url`; shown masked in
API answers (every role), both consoles and event payloads; still sent by the checks; PATCH keeps
them only for the masked URL sent back unchanged; old rows are moved by the data migration."""

import importlib

import pytest
from django.apps import apps as django_apps
from django.utils import timezone

from apps.core import crypto
from apps.core.models import OutboxEvent
from apps.monitoring import services
from apps.monitoring.checks import Outcome
from apps.monitoring.models import Monitor
from apps.monitoring.url_credentials import masked_url, split
from apps.tenants.models import Membership, Role
from tests.monitoring.factories import check_once, create, in_tenant

PASSWORD = "hunter2-Zq9"
URL = f"https://admin:{PASSWORD}@example.com/health?x=1"
MASKED = "https://***@example.com/health?x=1"


@pytest.fixture
def alice(client_for, world):
    return client_for(world["alice"], world["tenant_a"])


@pytest.fixture
def viewer(client_for, world, django_user_model):
    user = django_user_model.objects.create_user(
        username="viewer@example.com", email="viewer@example.com", password="x"
    )
    Membership.objects.create(tenant=world["tenant_a"], user=user, role=Role.VIEWER)
    return client_for(user, world["tenant_a"])


def _post(client, url=URL):
    body = {"name": "Private", "kind": "http", "http": {"url": url}}
    response = client.post("/api/v1/monitors", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def _stored(tenant, monitor_id) -> Monitor:
    with in_tenant(tenant):
        return Monitor.objects.get(pk=monitor_id)


@pytest.mark.parametrize(
    ("url", "bare", "userinfo"),
    [
        ("https://u:p@h.example/x", "https://h.example/x", "u:p"),
        ("https://tok@h.example:8443", "https://h.example:8443", "tok"),
        ("http://u:p%40ss@h.example/a@b?c=d@e#f@g", "http://h.example/a@b?c=d@e#f@g", "u:p%40ss"),
        ("https://a@b:c@h.example/", "https://h.example/", "a@b:c"),  # the last @ ends it
        ("https://h.example/path@x", "https://h.example/path@x", ""),
    ],
)
def test_split_keeps_the_rest_of_the_url_as_written(url, bare, userinfo):
    assert split(url) == (bare, userinfo)


def test_the_one_masked_form():
    assert masked_url("https://example.com/health", has_credentials=True) == (
        "https://***@example.com/health"
    )
    assert masked_url("https://example.com/", has_credentials=False) == "https://example.com/"
    # A URL that still holds credentials (before the migration ran) is masked too.
    assert masked_url(URL, has_credentials=False) == MASKED


def test_credentials_are_stored_encrypted_and_answered_masked(alice, viewer, world):
    body = _post(alice)
    assert body["http"]["url"] == MASKED
    monitor = _stored(world["tenant_a"], body["id"])
    assert monitor.url == "https://example.com/health?x=1"
    assert PASSWORD not in monitor.url_credentials_encrypted
    assert crypto.decrypt(monitor.url_credentials_encrypted) == f"admin:{PASSWORD}"
    for client in (alice, viewer):
        listed = client.get("/api/v1/monitors")
        assert PASSWORD not in listed.content.decode()
        assert "admin" not in listed.content.decode()  # the user name may be a token too
        assert listed.json()["results"][0]["http"]["url"] == MASKED
        assert client.get(f"/api/v1/monitors/{body['id']}").json()["http"]["url"] == MASKED
    # The search filter cannot be used to guess the password one letter at a time.
    assert alice.get("/api/v1/monitors", {"q": "hunter"}).json()["results"] == []


def test_patch_keeps_replaces_or_drops_the_credentials(alice, world):
    tenant = world["tenant_a"]
    monitor_id = _post(alice)["id"]
    path = f"/api/v1/monitors/{monitor_id}"
    token = _stored(tenant, monitor_id).url_credentials_encrypted

    # Other fields only, then the masked URL sent back as read: nothing about them changes.
    assert alice.patch(path, {"http": {"keyword": "ok"}}, format="json").status_code == 200
    same = alice.patch(path, {"http": {"url": MASKED}}, format="json")
    assert same.status_code == 200 and same.json()["http"]["url"] == MASKED
    assert _stored(tenant, monitor_id).url_credentials_encrypted == token

    # The mask with another host (or path) would carry the credentials elsewhere: refused.
    moved = alice.patch(path, {"http": {"url": "https://***@evil.example/"}}, format="json")
    assert moved.status_code == 400
    assert moved.json()["errors"][0]["field"] == "url"
    assert _stored(tenant, monitor_id).url == "https://example.com/health?x=1"

    # New credentials replace the old ones.
    alice.patch(path, {"http": {"url": "https://bob:new-pw@example.com/v2"}}, format="json")
    monitor = _stored(tenant, monitor_id)
    assert (monitor.url, crypto.decrypt(monitor.url_credentials_encrypted)) == (
        "https://example.com/v2",
        "bob:new-pw",
    )

    # A new URL without credentials drops them.
    dropped = alice.patch(path, {"http": {"url": "https://example.com/v3"}}, format="json")
    assert dropped.json()["http"]["url"] == "https://example.com/v3"
    assert _stored(tenant, monitor_id).url_credentials_encrypted == ""


def test_checks_still_send_the_credentials(world, http_target):
    tenant = world["tenant_a"]
    url = http_target.url.replace("http://", "http://user:p%40ss@") + "/auth"
    monitor = create(tenant, kind="http", name="behind auth", url=url)
    assert "@" not in monitor.url and monitor.url_credentials_encrypted
    monitor = check_once(tenant, monitor)
    assert monitor.status == "up", monitor.last_error

    without = create(tenant, kind="http", name="no auth", url=http_target.url + "/auth")
    assert check_once(tenant, without).status == "down"


def test_event_payloads_carry_the_masked_url(world):
    tenant = world["tenant_a"]
    monitor = create(tenant, kind="http", name="shop", url=URL)
    with in_tenant(tenant):
        services.results_apply(
            tenant=tenant,
            items=[services.ResultItem(monitor.pk, Outcome(ok=False, error="Status 503"),
                                       timezone.now())],
        )  # fmt: skip
    down = OutboxEvent.objects.filter(type="monitor.down", data__id=str(monitor.pk)).get()
    assert down.data["target"] == MASKED
    assert PASSWORD not in str(down.data)


def test_both_consoles_show_the_masked_url(client, world):
    tenant = world["tenant_a"]
    monitor = create(tenant, kind="http", name="console-private", url=URL)
    client.force_login(world["alice"])
    page = client.get("/console/monitoring/monitor/", HTTP_HOST="alpha.localhost")
    assert page.status_code == 200
    assert "console-private" in page.content.decode()
    assert MASKED in page.content.decode() and PASSWORD not in page.content.decode()

    world["operator"].is_superuser = True
    world["operator"].save()
    client.force_login(world["operator"])
    client.get("/admin/monitoring/monitor/?tenant=alpha")
    for path in ("/admin/monitoring/monitor/", f"/admin/monitoring/monitor/{monitor.pk}/change/"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert MASKED in page.content.decode() and PASSWORD not in page.content.decode()


def test_the_data_migration_moves_credentials_out_of_the_url_and_back(world):
    migration = importlib.import_module("apps.monitoring.migrations.0006_monitor_url_credentials")
    tenant = world["tenant_a"]
    monitor = create(tenant, kind="http", name="legacy", url="https://example.com/health")
    plain = create(tenant, kind="http", name="at in path", url="https://example.com/u/@me")
    with in_tenant(tenant):
        Monitor.objects.filter(pk=monitor.pk).update(url=URL, url_credentials_encrypted="")
        migration.credentials_out(django_apps, None)
        monitor.refresh_from_db()
        assert monitor.url == "https://example.com/health?x=1"
        assert crypto.decrypt(monitor.url_credentials_encrypted) == f"admin:{PASSWORD}"
        assert Monitor.objects.get(pk=plain.pk).url == "https://example.com/u/@me"

        migration.credentials_back(django_apps, None)
        monitor.refresh_from_db()
        assert monitor.url == URL
