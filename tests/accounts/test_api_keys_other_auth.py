"""Only `qs_` bearer tokens are API keys: JWTs and sessions still authenticate as before."""

import pytest
from allauth.account.internal.userkit import user_id_to_str
from allauth.headless.tokens.strategies.jwt.internal import create_token
from django.test import override_settings
from rest_framework.test import APIClient, APIRequestFactory

from apps.accounts.authentication import ApiKeyAuthentication

pytestmark = pytest.mark.django_db

# A real JWT set-up, independent of how the deployment configures its signing key.
JWT = override_settings(
    HEADLESS_JWT_ALGORITHM="HS256",
    HEADLESS_JWT_PRIVATE_KEY="jwt-test-signing-key-" + "x" * 43,
    HEADLESS_JWT_STATEFUL_VALIDATION_ENABLED=False,
)


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", "Token qs_abc", "Basic qs_abc"],
)
def test_anything_but_a_bearer_qs_token_is_left_to_the_next_authenticator(header):
    extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
    request = APIRequestFactory().get("/api/v1/api-keys", **extra)
    assert ApiKeyAuthentication().authenticate(request) is None


def test_a_jwt_still_authenticates_its_user(world):
    with JWT:
        token, _ = create_token(
            "access", sub=user_id_to_str(world["alice"]), sid="session", expires_in=300
        )
        response = APIClient().get(
            "/api/v1/api-keys", HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_TENANT_ID="alpha"
        )
    assert response.status_code == 200, response.content


def test_a_bad_jwt_is_refused_by_the_jwt_authenticator_not_as_an_api_key(world):
    with JWT:
        response = APIClient().get(
            "/api/v1/api-keys", HTTP_AUTHORIZATION="Bearer not.a.jwt", HTTP_X_TENANT_ID="alpha"
        )
    assert response.status_code == 401
    assert "API key" not in response.json()["detail"]


def test_a_session_still_authenticates_its_user(world):
    client = APIClient()
    client.force_login(world["alice"])
    response = client.get("/api/v1/api-keys", HTTP_X_TENANT_ID="alpha")
    assert response.status_code == 200


def test_a_key_wins_over_a_session_on_the_same_request(client_for, world):
    """The key is checked first: a member-authority key limits even a logged-in owner."""
    owner = client_for(world["alice"], world["tenant_a"])
    raw_key = owner.post("/api/v1/api-keys", {"name": "m", "authority": "member"}).json()["key"]
    client = APIClient()
    client.force_login(world["alice"])
    response = client.get(
        "/api/v1/api-keys", HTTP_AUTHORIZATION=f"Bearer {raw_key}", HTTP_X_TENANT_ID="alpha"
    )
    assert response.status_code == 403
