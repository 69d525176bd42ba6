"""Malformed or out-of-order requests to the auth API and pages get a 4xx, never a 5xx."""

import json

import pytest

pytestmark = pytest.mark.django_db

API = "/api/v1/auth/app/v1"
EMAIL = "someone@example.com"

# (name, method, path, body, headers, expected status)
API_CASES = [
    ("not json", "post", f"{API}/auth/login", "{not json", {}, 400),
    ("json list", "post", f"{API}/auth/login", "[1, 2]", {}, 400),
    ("empty object", "post", f"{API}/auth/login", {}, {}, 400),
    ("bad email", "post", f"{API}/auth/login", {"email": "nope", "password": "x"}, {}, 400),
    ("wrong types", "post", f"{API}/auth/login", {"email": 7, "password": ["x"]}, {}, 400),
    ("username login", "post", f"{API}/auth/login", {"username": "a", "password": "b"}, {}, 400),
    ("signup bad email", "post", f"{API}/auth/signup", {"email": "x@", "password": "x"}, {}, 400),
    (
        "signup weak password",
        "post",
        f"{API}/auth/signup",
        {"email": EMAIL, "password": "123"},
        {},
        400,
    ),
    (
        "signup long name",
        "post",
        f"{API}/auth/signup",
        {"email": EMAIL, "password": "Harbour-Crane-42", "first_name": "x" * 500},
        {},
        400,
    ),
    ("verify garbage key", "post", f"{API}/auth/email/verify", {"key": "garbage"}, {}, 400),
    ("2fa without login", "post", f"{API}/auth/2fa/authenticate", {"code": "123456"}, {}, 401),
    ("refresh garbage", "post", f"{API}/tokens/refresh", {"refresh_token": "garbage"}, {}, 400),
    ("refresh missing", "post", f"{API}/tokens/refresh", {}, {}, 400),
    ("reset request bad email", "post", f"{API}/auth/password/request", {"email": "x"}, {}, 400),
    (
        "reset garbage key",
        "post",
        f"{API}/auth/password/reset",
        {"key": "garbage", "password": "Harbour-Crane-42"},
        {},
        400,
    ),
    ("unknown session token", "get", f"{API}/auth/session", None, {"X-Session-Token": "nope"}, 410),
    ("garbage bearer", "get", f"{API}/auth/session", None, {"Authorization": "Bearer x.y.z"}, 401),
    (
        "provider not configured",
        "post",
        f"{API}/auth/provider/token",
        {"provider": "google", "process": "login", "token": {"client_id": "x", "id_token": "y"}},
        {},
        400,
    ),
    ("unknown provider", "post", f"{API}/auth/provider/token", {"provider": "nope"}, {}, 400),
    (
        "redirect to unconfigured provider",
        "post",
        f"{API}/auth/provider/redirect",
        {"provider": "google", "callback_url": "/", "process": "login"},
        {},
        401,
    ),
    ("provider signup without login", "post", f"{API}/auth/provider/signup", {}, {}, 409),
    ("method not allowed", "get", f"{API}/auth/login", None, {}, 405),
    ("unknown path", "get", f"{API}/auth/nowhere", None, {}, 404),
    ("me anonymous", "get", "/api/v1/auth/me", None, {}, 401),
    ("me empty bearer", "get", "/api/v1/auth/me", None, {"Authorization": "Bearer"}, 401),
    ("me post", "post", "/api/v1/auth/me", {}, {"Authorization": "Bearer x.y.z"}, 401),
    ("spec wrong method", "post", "/api/v1/auth/openapi.json", {}, {}, 405),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "expected"),
    [case[1:] for case in API_CASES],
    ids=[case[0] for case in API_CASES],
)
def test_api_answers_4xx(web, method, path, body, headers, expected):
    kwargs = {"headers": headers}
    if body is not None:
        kwargs["data"] = body if isinstance(body, str) else json.dumps(body)
        kwargs["content_type"] = "application/json"
    response = getattr(web, method)(path, **kwargs)
    assert response.status_code == expected, response.content[:500]
    if response.content and path.startswith("/api/") and expected != 405:
        assert response["Content-Type"].split(";")[0] in (
            "application/json",
            "application/problem+json",
            "text/html",  # allauth's bare 400 for an unparsable body
        )


# (name, method, path, form data)
PAGE_CASES = [
    ("login empty", "post", "/accounts/login/", {}),
    ("login bad email", "post", "/accounts/login/", {"login": "nope", "password": "x"}),
    ("signup empty", "post", "/accounts/signup/", {}),
    ("signup weak password", "post", "/accounts/signup/", {"email": EMAIL, "password1": "1"}),
    ("confirm garbage", "get", "/accounts/confirm-email/garbage/", None),
    ("confirm garbage post", "post", "/accounts/confirm-email/garbage/", {}),
    ("reset garbage key", "get", "/accounts/password/reset/key/zz-garbage/", None),
    ("reset bad email", "post", "/accounts/password/reset/", {"email": "x"}),
    ("2fa without login", "post", "/accounts/2fa/authenticate/", {"code": "1"}),
    ("home anonymous", "get", "/accounts/", None),
    ("totp anonymous", "get", "/accounts/2fa/totp/activate/", None),
    ("google off", "get", "/accounts/google/login/", None),
]


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [case[1:] for case in PAGE_CASES],
    ids=[case[0] for case in PAGE_CASES],
)
def test_pages_never_fail_with_5xx(web, method, path, data):
    response = getattr(web, method)(path, data) if data is not None else getattr(web, method)(path)
    assert response.status_code < 500
    assert web.get("/accounts/").status_code == 302  # and nobody got signed in
