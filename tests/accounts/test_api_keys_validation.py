"""Bad input answers 4xx problem details that name the field at fault."""

import datetime as dt

import pytest
from django.utils import timezone

from apps.accounts.models import ApiKey

pytestmark = pytest.mark.django_db

PAST = (timezone.now() - dt.timedelta(minutes=1)).isoformat()
FUTURE = (timezone.now() + dt.timedelta(days=30)).isoformat()

CASES = {
    "bad authority": ({"name": "k", "authority": "owner"}, "authority"),
    "missing authority": ({"name": "k"}, "authority"),
    "empty name": ({"name": "", "authority": "member"}, "name"),
    "blank name": ({"name": "   ", "authority": "member"}, "name"),
    "missing name": ({"authority": "member"}, "name"),
    "long name": ({"name": "x" * 101, "authority": "member"}, "name"),
    "expiry in the past": ({"name": "k", "authority": "member", "expires_at": PAST}, "expires_at"),
    "expiry not a date": ({"name": "k", "authority": "member", "expires_at": "soon"}, "expires_at"),
    "name not a string": ({"name": {"a": 1}, "authority": "member"}, "name"),
}


@pytest.mark.parametrize(("body", "field"), CASES.values(), ids=CASES.keys())
def test_invalid_fields_answer_400_naming_the_field(body, field, client_for, world):
    response = client_for(world["alice"], world["tenant_a"]).post("/api/v1/api-keys", body)
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"] == "/problems/validation-error"
    assert field in {error["field"] for error in problem["errors"]}
    assert not ApiKey.objects.exists()


def test_malformed_json_answers_400_malformed_request(client_for, world):
    response = client_for(world["alice"], world["tenant_a"]).post(
        "/api/v1/api-keys", data='{"name": "k", ', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/malformed-request"


def test_a_body_that_is_not_json_answers_415(client_for, world):
    response = client_for(world["alice"], world["tenant_a"]).post(
        "/api/v1/api-keys", data="name=k", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert response.json()["type"] == "/problems/unsupported-media-type"


def test_a_future_expiry_is_kept(client_for, world):
    client = client_for(world["alice"], world["tenant_a"])
    body = {"name": "k", "authority": "member", "expires_at": FUTURE}
    response = client.post("/api/v1/api-keys", body)
    assert response.status_code == 201
    assert response.json()["expires_at"] is not None
    assert response.json()["status"] == "active"


@pytest.mark.parametrize("query", ["status=broken", "authority=owner"])
def test_bad_list_filters_answer_400(query, client_for, world):
    response = client_for(world["alice"], world["tenant_a"]).get(f"/api/v1/api-keys?{query}")
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/validation-error"


def test_delete_is_not_how_keys_are_revoked(client_for, world):
    client = client_for(world["alice"], world["tenant_a"])
    key_id = client.post("/api/v1/api-keys", {"name": "k", "authority": "member"}).json()["id"]
    response = client.delete(f"/api/v1/api-keys/{key_id}")
    assert response.status_code == 405
    assert response.json()["type"] == "/problems/method-not-allowed"
