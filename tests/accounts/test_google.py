"""Google login: the callback creates (or logs in) the user; a new user gets a personal tenant.

Mocked the way allauth's own provider tests do it (allauth/socialaccount/tests and
providers/google/tests.py, which the wheel does not ship): the token endpoint's answer is served
from a patched `requests.Session.request`, with an id_token that allauth may decode unverified
because it came straight from Google's token endpoint."""

import json
import time
from unittest import mock
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
import requests
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.test.utils import override_settings

from apps.core.models import AuditEvent
from apps.tenants.models import Membership

pytestmark = pytest.mark.django_db

CLIENT_ID = "app123id"
GOOGLE = {
    "google": {
        **settings.SOCIALACCOUNT_PROVIDERS["google"],
        "APP": {"client_id": CLIENT_ID, "secret": "dummy", "key": ""},
    }
}


def _json_response(data: dict) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = json.dumps(data).encode()
    response.headers["Content-Type"] = "application/json"
    return response


def _token_response(**identity) -> requests.Response:
    now = int(time.time())
    claims = {
        "iss": "https://accounts.google.com",
        "azp": CLIENT_ID,
        "aud": CLIENT_ID,
        "sub": "108204268033311374519",
        "email": "raymond.penners@example.com",
        "email_verified": True,
        "name": "Raymond Penners",
        "given_name": "Raymond",
        "family_name": "Penners",
        "iat": now,
        "exp": now + 3600,
        **identity,
    }
    return _json_response(
        {
            "access_token": "testac",
            "expires_in": 3600,
            "token_type": "Bearer",
            "scope": "openid email profile",
            "id_token": jwt.encode(
                claims, "google-signs-with-its-own-keys-here", algorithm="HS256"
            ),
        }
    )


def google_login(client, **identity):
    """Start at our login URL, come back to the callback with Google's answer mocked."""
    start = client.post("/accounts/google/login/?process=login")
    assert start.status_code == 302
    redirect = urlparse(start["Location"])
    assert redirect.netloc == "accounts.google.com"
    query = parse_qs(redirect.query)
    assert query["redirect_uri"][0].endswith("/accounts/google/login/callback/")
    with mock.patch("requests.Session.request", return_value=_token_response(**identity)) as sent:
        callback = client.get(
            "/accounts/google/login/callback/", {"code": "test", "state": query["state"][0]}
        )
    method, url = sent.call_args.args[:2]
    assert (method, url) == ("POST", "https://oauth2.googleapis.com/token")
    return callback


@override_settings(SOCIALACCOUNT_PROVIDERS=GOOGLE)
def test_callback_signs_up_a_new_user_with_a_personal_tenant(web, new_email):
    email = new_email("google")
    response = google_login(web, email=email, sub="g-1")
    assert response.status_code == 302
    assert response["Location"] == settings.LOGIN_REDIRECT_URL
    assert web.get("/accounts/").status_code == 200

    account = SocialAccount.objects.get(provider="google", uid="g-1")
    assert account.user.email == email
    assert account.user.first_name == "Raymond"
    assert not account.user.has_usable_password()
    assert EmailAddress.objects.get(user=account.user, email=email).verified
    membership = Membership.objects.select_related("tenant").get(user=account.user)
    assert (membership.role, membership.tenant.name) == ("owner", "Raymond's workspace")
    signed_up = AuditEvent.objects.get(action="user.signed_up", target_id=str(account.user.pk))
    assert signed_up.metadata["method"] == "social:google"


@override_settings(SOCIALACCOUNT_PROVIDERS=GOOGLE)
def test_callback_logs_in_a_returning_user_without_a_second_tenant(web, make_headless, new_email):
    email = new_email("google")
    google_login(web, email=email, sub="g-2")
    web.post("/accounts/logout/")

    again = google_login(web, email=email, sub="g-2")
    assert again.status_code == 302
    assert web.get("/api/v1/auth/me").json()["email"] == email
    assert Membership.objects.filter(user__email=email).count() == 1


@override_settings(SOCIALACCOUNT_PROVIDERS=GOOGLE)
def test_callback_logs_into_the_existing_account_with_that_verified_email(web, verified_user):
    user = verified_user()
    response = google_login(web, email=user.email, sub="g-3")
    assert response.status_code == 302
    assert web.get("/api/v1/auth/me").json()["id"] == str(user.pk)
    assert SocialAccount.objects.get(uid="g-3").user == user
    assert not Membership.objects.filter(user=user).exists()  # no sign-up, no new tenant


@override_settings(SOCIALACCOUNT_PROVIDERS=GOOGLE)
def test_an_unverified_google_email_must_be_confirmed_first(web, new_email):
    email = new_email("google")
    response = google_login(web, email=email, sub="g-4", email_verified=False)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert web.get("/api/v1/auth/me").status_code == 401


@override_settings(SOCIALACCOUNT_PROVIDERS=GOOGLE)
@pytest.mark.parametrize(
    "params",
    [
        {"code": "test", "state": "forged"},
        {"error": "access_denied", "state": "x"},
        {},
    ],
)
def test_bad_callbacks_are_refused_without_a_login(web, params):
    response = web.get("/accounts/google/login/callback/", params)
    assert response.status_code == 401
    assert "socialaccount/authentication_error.html" in [t.name for t in response.templates]
    assert web.get("/accounts/").status_code == 302


def test_google_is_off_without_client_id_and_secret(web):
    assert "APP" not in settings.SOCIALACCOUNT_PROVIDERS["google"]
    assert web.post("/accounts/google/login/").status_code == 404
    assert "google" not in web.get("/accounts/login/").content.decode().lower()
