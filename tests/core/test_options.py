"""OPTIONS answers on every API path (issue 11, defect 1): DRF's default metadata called
`get_serializer()` and answered 500 on views without a `serializer_class`."""

from __future__ import annotations

import re
import uuid

import pytest
from rest_framework.test import APIClient

PARAM = re.compile(r"\{[^}]+\}")


@pytest.fixture(scope="module")
def api_paths(django_db_setup, django_db_blocker) -> list[str]:
    with django_db_blocker.unblock():
        schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    some_id = str(uuid.uuid4())
    return sorted(PARAM.sub(some_id, path) for path in schema["paths"])


def test_options_answers_200_with_allow_on_every_api_path(world, client_for, api_paths):
    client = client_for(world["alice"], world["tenant_a"])
    failures = {}
    for path in api_paths:
        response = client.options(path)
        if response.status_code != 200 or not response.has_header("Allow"):
            failures[path] = response.status_code
            continue
        body = response.json()
        assert set(body["allow"]) == {m.strip() for m in response["Allow"].split(",")}
        assert "OPTIONS" in body["allow"]
        assert body["schema"] == "/api/schema/"
    # Operator-only paths answer 403 to a tenant owner, as GET does; nothing answers 5xx.
    assert all(code == 403 for code in failures.values()), failures
    assert all(path.startswith("/api/v1/admin/") for path in failures), failures


def test_options_on_the_views_that_answered_500(world, client_for):
    client = client_for(world["alice"], world["tenant_a"])
    for path in (
        "/api/v1/api-keys/",
        "/api/v1/billing/checkout/",
        "/api/v1/billing/credits/usage/",
        "/api/v1/billing/portal/",
        "/api/v1/billing/subscription/cancel/",
        "/api/v1/billing/subscription/resume/",
        "/api/v1/invitations/",
        "/api/v1/members/leave/",
    ):
        response = client.options(path)
        assert response.status_code == 200, (path, response.content)
        assert "OPTIONS" in response["Allow"]


def test_options_has_the_same_authentication_and_tenancy_answers_as_get(world, client_for):
    anonymous = APIClient()
    for path in ("/api/v1/tenants/", "/api/v1/billing/checkout/"):
        answer = anonymous.options(path)
        assert answer.status_code == 401, path
        assert answer["Content-Type"] == "application/problem+json"
    tenant = {"HTTP_X_TENANT_ID": world["tenant_a"].slug}
    get, options = (
        anonymous.get("/api/v1/api-keys/", **tenant),
        anonymous.options("/api/v1/api-keys/", **tenant),
    )
    assert options.status_code == get.status_code
    assert options.json()["type"] == get.json()["type"]
    # Bob is not a member of Alpha: the tenant does not exist for him.
    stranger = client_for(world["bob"], world["tenant_a"])
    for method in ("get", "options"):
        answer = getattr(stranger, method)("/api/v1/api-keys/")
        assert answer.status_code == 404, method
        assert answer.json()["type"] == "/problems/not-found"
