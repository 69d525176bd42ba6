import pytest

from apps.tenants.models import Tenant

pytestmark = pytest.mark.django_db


def post(client, body, key):
    return client.post("/api/v1/tenants", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_replayed_key_returns_the_first_response_and_does_nothing_again(client_for, world):
    client = client_for(world["alice"])
    first = post(client, {"name": "Once", "slug": "once-only"}, "key-1")
    again = post(client, {"name": "Once", "slug": "once-only"}, "key-1")
    assert first.status_code == 201
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true"
    assert Tenant.objects.filter(slug="once-only").count() == 1


def test_same_key_with_another_body_answers_422(client_for, world):
    client = client_for(world["alice"])
    assert post(client, {"name": "One", "slug": "key-two-a"}, "key-2").status_code == 201
    response = post(client, {"name": "Two", "slug": "key-two-b"}, "key-2")
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/idempotency-key-reused"
    assert not Tenant.objects.filter(slug="key-two-b").exists()


def test_client_errors_are_replayed_too(client_for, world):
    client = client_for(world["alice"])
    first = post(client, {"name": "Bad", "slug": "x"}, "key-3")
    again = post(client, {"name": "Bad", "slug": "x"}, "key-3")
    assert first.status_code == again.status_code == 400
    assert again.json()["errors"] == first.json()["errors"]
    assert again["Content-Type"].startswith("application/problem+json")


def test_keys_belong_to_their_caller(client_for, world):
    body = {"name": "Shared key", "slug": "shared-key-alice"}
    assert post(client_for(world["alice"]), body, "key-4").status_code == 201
    other = post(client_for(world["bob"]), {**body, "slug": "shared-key-bob"}, "key-4")
    assert other.status_code == 201
    assert "Idempotent-Replayed" not in other


def test_overlong_key_is_a_400(client_for, world):
    response = post(client_for(world["alice"]), {"name": "L", "slug": "long-key"}, "k" * 256)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"


def _stored_values() -> list[bytes]:
    """The raw bytes Redis holds for this run's idempotency keys."""
    from django.conf import settings

    from apps.core import heartbeat

    client = heartbeat.redis_client()
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    return [client.get(key) for key in client.scan_iter(match=f"{prefix}*idem:*")]


@pytest.fixture
def _no_idempotency_keys():
    from django.conf import settings

    from apps.core import heartbeat

    client = heartbeat.redis_client()
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    for key in client.scan_iter(match=f"{prefix}*idem:*"):
        client.delete(key)


@pytest.mark.usefixtures("_no_idempotency_keys")
def test_one_time_secrets_are_kept_encrypted_and_still_replayed(client_for, world):
    """Webhook signing secrets (create, rotate) and an app's git webhook secret: Redis holds
    no readable copy, yet a client that lost the answer gets the same secret again."""
    client = client_for(world["alice"], world["tenant_a"])
    calls = [
        ("/api/v1/webhook-endpoints", {"url": "https://hooks.example.com/in"}, "secret"),
        ("/api/v1/apps", {"name": "idem-shop", "git_url": "https://github.com/acme/shop.git"},
         "webhook_secret"),
    ]  # fmt: skip
    for index, (path, body, field) in enumerate(calls):
        first = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=f"secret-{index}")
        assert first.status_code == 201, first.json()
        secret = first.json()[field]
        again = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=f"secret-{index}")
        assert again["Idempotent-Replayed"] == "true"
        assert again.json()[field] == secret
        stored = _stored_values()
        assert stored and not any(secret.encode() in value for value in stored)
        assert not any(b"whsec_" in value or b"hooks.example" in value for value in stored)

    endpoint = client.get("/api/v1/webhook-endpoints").json()["results"][0]["id"]
    path = f"/api/v1/webhook-endpoints/{endpoint}/rotate-secret"
    rotated = client.post(path, HTTP_IDEMPOTENCY_KEY="rotate-1")
    again = client.post(path, HTTP_IDEMPOTENCY_KEY="rotate-1")
    assert rotated.json()["secret"] == again.json()["secret"]
    assert not any(rotated.json()["secret"].encode() in value for value in _stored_values())


@pytest.mark.usefixtures("_no_idempotency_keys")
def test_a_kept_response_no_key_opens_is_a_409_not_a_second_run(client_for, world, settings):
    client = client_for(world["alice"])
    body = {"name": "Rotated away", "slug": "rotated-away"}
    assert post(client, body, "key-lost").status_code == 201
    settings.FIELD_ENCRYPTION_KEYS = ["Tl9k2lZ2m2m8l1yGQ0N4rQ3d4l1m0r2Zx8v7w6u5t4s="]
    response = post(client, body, "key-lost")
    assert response.status_code == 409
    assert Tenant.objects.filter(slug="rotated-away").count() == 1


def test_an_entry_kept_before_encryption_is_still_replayed(client_for, world):
    """Entries written by the previous version (plain fingerprint and answer) expire within
    IDEMPOTENCY_KEY_TTL_S; until then a retry gets them, not a 422 or a second run."""
    import hashlib

    from django.core.cache import cache

    from apps.core import idempotency

    body = b'{"name":"Old","slug":"kept-before"}'
    key = "legacy-key"
    cache_key = f"idem:public:user:{world['alice'].pk}:{hashlib.sha256(key.encode()).hexdigest()}"
    legacy = idempotency._fingerprint("POST", "/api/v1/tenants", body, keyed=False)
    cache.set(cache_key, {"state": "done", "fp": legacy, "status": 201,
                          "data": {"slug": "kept-before"}, "headers": {}})  # fmt: skip
    client = client_for(world["alice"])
    again = client.post(
        "/api/v1/tenants", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == {"slug": "kept-before"}
    assert not Tenant.objects.filter(slug="kept-before").exists()
    cache.delete(cache_key)


@pytest.mark.usefixtures("_no_idempotency_keys")
def test_a_reveal_is_never_replayed_and_every_call_is_audited(client_for, world):
    """Revealing an env var changes nothing, so a repeated Idempotency-Key brings nothing, while
    a replay would hand the value out again unaudited (and keep it in Redis): the key is
    ignored there (`@not_idempotent`)."""
    from apps.core.models import AuditEvent
    from tests.deploy.factories import deployed_app

    app = deployed_app(world["tenant_a"], world["alice"])["app"]
    client = client_for(world["alice"], world["tenant_a"])
    path = f"/api/v1/apps/{app.pk}/env-vars/SECRET_KEY/reveal"
    audited = AuditEvent.objects.filter(action="env_var.revealed")
    before = audited.count()
    first = client.post(path, HTTP_IDEMPOTENCY_KEY="reveal-1")
    again = client.post(path, HTTP_IDEMPOTENCY_KEY="reveal-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == {"key": "SECRET_KEY", "value": "very-secret-value"}
    assert "Idempotent-Replayed" not in again
    assert audited.count() == before + 2
    assert _stored_values() == []
