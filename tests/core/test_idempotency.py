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
