"""JWT access tokens from the auth API work on our API; refresh tokens rotate, so a refresh token
that was used once is refused; logout ends the session the tokens belong to."""

import pytest
from django.conf import settings
from django.test.utils import override_settings

from apps.tenants.services import tenant_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(verified_user):
    user = verified_user()
    tenant = tenant_create(name="Jetty", slug=f"jetty-{user.pk.hex[:8]}", owner=user)
    return user, tenant


def test_token_lifetimes_are_five_minutes_and_one_day():
    assert settings.HEADLESS_JWT_ACCESS_TOKEN_EXPIRES_IN == 300
    assert settings.HEADLESS_JWT_REFRESH_TOKEN_EXPIRES_IN == 86400
    assert settings.HEADLESS_JWT_ROTATE_REFRESH_TOKEN is True


def test_bearer_access_token_lists_the_callers_tenants(headless, owner, password):
    user, tenant = owner
    assert headless.login(user.email, password).status == 200

    response = headless.api_get("/api/v1/tenants")
    assert response.status_code == 200, response.content
    assert [t["slug"] for t in response.json()["results"]] == [tenant.slug]

    inside = headless.api_get("/api/v1/tenants", headers={"X-Tenant-ID": tenant.slug})
    assert inside.status_code == 200, inside.content


def test_refresh_rotates_and_an_old_refresh_token_is_refused(headless, owner, password):
    user, _tenant = owner
    headless.login(user.email, password)
    first_access, first_refresh = headless.access_token, headless.refresh_token

    rotated = headless.post("/tokens/refresh", {"refresh_token": first_refresh})
    assert rotated.status == 200, rotated.body
    second_access = rotated.body["data"]["access_token"]
    second_refresh = rotated.body["data"]["refresh_token"]
    assert second_refresh != first_refresh
    assert second_access != first_access

    replayed = headless.post("/tokens/refresh", {"refresh_token": first_refresh})
    assert replayed.status == 400
    assert "access_token" not in replayed.body.get("data", {})

    again = headless.post("/tokens/refresh", {"refresh_token": second_refresh})
    assert again.status == 200
    headless.access_token = again.body["data"]["access_token"]
    assert headless.api_get("/api/v1/tenants").status_code == 200


@pytest.mark.parametrize(
    "token",
    ["not-a-jwt", "eyJhbGciOiJIUzI1NiJ9.e30.", "refresh", "tampered"],
)
def test_bad_tokens_get_401_problem_details(headless, owner, password, token):
    user, _tenant = owner
    headless.login(user.email, password)
    if token == "refresh":
        token = headless.refresh_token  # a refresh token is no access token
    elif token == "tampered":
        head, payload, signature = headless.access_token.split(".")
        token = f"{head}.{payload}.{signature[::-1]}"
    response = headless.client.get("/api/v1/tenants", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/not-authenticated"


def test_an_expired_access_token_is_refused(headless, owner, password):
    from allauth.headless.tokens.strategies.jwt import internal

    user, _tenant = owner
    headless.login(user.email, password)
    payload = internal.decode_token(headless.access_token, "access")
    expired, _ = internal.create_token(
        "access", sub=payload["sub"], sid=payload["sid"], expires_in=-5
    )
    response = headless.client.get(
        "/api/v1/tenants", headers={"Authorization": f"Bearer {expired}"}
    )
    assert response.status_code == 401


def test_logout_ends_the_session_behind_the_tokens(headless, owner, password):
    user, _tenant = owner
    headless.login(user.email, password)
    access, refresh = headless.access_token, headless.refresh_token

    assert headless.delete("/auth/session").status == 401  # logged out
    headless.access_token = access
    assert headless.api_get("/api/v1/tenants").status_code == 401
    assert headless.post("/tokens/refresh", {"refresh_token": refresh}).status == 400


def _rsa_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_jwt_private_key_from_the_environment_switches_to_rs256(monkeypatch):
    import importlib

    from config.settings import auth as auth_settings

    pem = _rsa_pem()
    monkeypatch.setenv("JWT_PRIVATE_KEY", pem.replace("\n", "\\n"))  # one-line form
    try:
        reloaded = importlib.reload(auth_settings)
        assert reloaded.HEADLESS_JWT_ALGORITHM == "RS256"
        assert pem.strip() == reloaded.HEADLESS_JWT_PRIVATE_KEY
    finally:
        monkeypatch.delenv("JWT_PRIVATE_KEY")
        importlib.reload(auth_settings)
    assert auth_settings.HEADLESS_JWT_ALGORITHM == "HS256"


def test_rs256_tokens_work_on_our_api(headless, owner, password):
    import jwt

    with override_settings(HEADLESS_JWT_ALGORITHM="RS256", HEADLESS_JWT_PRIVATE_KEY=_rsa_pem()):
        user, _tenant = owner
        assert headless.login(user.email, password).status == 200
        assert jwt.get_unverified_header(headless.access_token)["alg"] == "RS256"
        assert headless.api_get("/api/v1/tenants").status_code == 200
