"""The auth API is documented: allauth's OpenAPI document of the headless endpoints is served
under /api/v1/auth/, and our schema (/api/schema/) links to it from /api/v1/auth/me."""

import pytest

pytestmark = pytest.mark.django_db

SPEC = "/api/v1/auth/openapi.json"


def test_headless_spec_is_served_with_our_paths(web):
    response = web.get(SPEC)
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.")
    paths = set(spec["paths"])
    for path in (
        "/api/v1/auth/app/v1/auth/signup",
        "/api/v1/auth/app/v1/auth/login",
        "/api/v1/auth/app/v1/auth/email/verify",
        "/api/v1/auth/app/v1/auth/2fa/authenticate",
        "/api/v1/auth/app/v1/account/authenticators/totp",
        "/api/v1/auth/app/v1/account/authenticators/recovery-codes",
        "/api/v1/auth/app/v1/tokens/refresh",
        "/api/v1/auth/app/v1/auth/password/reset",
    ):
        assert path in paths, path
    assert not any("_allauth" in p or "{client}" in p for p in paths)
    assert web.get("/api/v1/auth/openapi.yaml").status_code == 200


def test_our_schema_documents_me_and_links_the_auth_spec(web):
    schema = web.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    me = schema["paths"]["/api/v1/auth/me/"]["get"]
    assert me["externalDocs"]["url"] == SPEC
    ok = me["responses"]["200"]["content"]["application/json"]
    assert ok["examples"]
    assert "401" in me["responses"]
