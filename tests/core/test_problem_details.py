"""Every API error is RFC 9457 problem details, whatever raised it."""

import logging

import pytest

from apps.tenants import selectors

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["type"] == f"/problems/{slug}"
    assert body["status"] == status
    assert body["title"] and body["detail"]
    assert body["instance"].startswith("/")
    assert body["request_id"] == response["X-Request-ID"]
    return body


def test_unknown_tenant_host_answers_404_problem(api_client):
    response = api_client.get("/api/v1/tenants", HTTP_HOST="nosuch.localhost")
    assert_problem(response, 404, "not-found")


def test_unknown_tenant_host_outside_api_is_also_404_not_public_schema(api_client):
    response = api_client.get("/admin/login/", HTTP_HOST="nosuch.localhost")
    assert_problem(response, 404, "not-found")


def test_unknown_tenant_header_answers_404_problem(api_client, world):
    response = api_client.get("/api/v1/tenants", HTTP_X_TENANT_ID="nosuch")
    assert_problem(response, 404, "not-found")


def test_unknown_tenant_uuid_header_answers_404_problem(api_client, world):
    response = api_client.get(
        "/api/v1/tenants", HTTP_X_TENANT_ID="00000000-0000-0000-0000-000000000000"
    )
    assert_problem(response, 404, "not-found")


def test_unknown_api_path_answers_404_problem(client_for, world):
    response = client_for(world["alice"]).post("/api/v1/nothing-here", {}, format="json")
    assert_problem(response, 404, "not-found")


def test_malformed_json_answers_400_problem(client_for, world):
    response = client_for(world["alice"]).post(
        "/api/v1/tenants", data=b'{"name": "x", ', content_type="application/json"
    )
    assert_problem(response, 400, "malformed-request")


def test_invalid_fields_answer_400_with_field_errors(client_for, world):
    response = client_for(world["alice"]).post("/api/v1/tenants", {"name": ""}, format="json")
    body = assert_problem(response, 400, "validation-error")
    fields = {error["field"] for error in body["errors"]}
    assert fields == {"name", "slug"}
    assert all(error["code"] and error["message"] for error in body["errors"])


def test_service_validation_error_names_the_field(client_for, world):
    response = client_for(world["alice"]).post(
        "/api/v1/tenants", {"name": "Taken", "slug": "alpha"}, format="json"
    )
    body = assert_problem(response, 400, "validation-error")
    assert body["errors"] == [
        {"field": "slug", "code": "taken", "message": "The slug 'alpha' is taken."}
    ]


def test_unsupported_media_type_answers_415_problem(client_for, world):
    response = client_for(world["alice"]).post(
        "/api/v1/tenants", data="name=x", content_type="text/plain"
    )
    assert_problem(response, 415, "unsupported-media-type")


def test_wrong_method_answers_405_problem(client_for, world):
    response = client_for(world["alice"]).delete("/api/v1/tenants")
    assert_problem(response, 405, "method-not-allowed")


def test_missing_credentials_answer_401_problem(api_client):
    response = api_client.get("/api/v1/tenants")
    assert_problem(response, 401, "not-authenticated")
    assert response["WWW-Authenticate"]


def test_unhandled_exception_answers_generic_500_and_logs_traceback(
    client_for, world, monkeypatch, caplog
):
    def boom(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(selectors, "memberships_for_user", boom)
    with caplog.at_level(logging.ERROR, logger="quayside.api"):
        response = client_for(world["alice"]).get("/api/v1/tenants")
    body = assert_problem(response, 500, "server-error")
    assert "secret internals" not in response.content.decode()
    assert "Traceback" not in response.content.decode()
    record = next(r for r in caplog.records if r.name == "quayside.api")
    assert record.exc_info and "secret internals" in str(record.exc_info[1])
    assert record.request_id == body["request_id"]


def test_request_id_is_echoed_when_sane_and_made_when_not(api_client):
    sent = api_client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    assert sent["X-Request-ID"] == "abc-123"
    made = api_client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert made["X-Request-ID"] != "bad id\nwith newline"
    assert len(made["X-Request-ID"]) == 32


def test_api_responses_carry_the_api_version(client_for, world):
    assert client_for(world["alice"]).get("/api/v1/tenants")["X-API-Version"] == "1"
