"""Email verification is mandatory outside local mode: an unverified user cannot log in, on the
API or the pages, until they follow the link from the mail."""

import importlib

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


def test_verification_is_mandatory_here_and_optional_in_local_mode(monkeypatch):
    assert settings.ACCOUNT_EMAIL_VERIFICATION == "mandatory"
    for name in ("ACCOUNT_EMAIL_VERIFICATION", "EMAIL_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    local = importlib.reload(importlib.import_module("config.settings.local"))
    assert local.ACCOUNT_EMAIL_VERIFICATION == "optional"
    assert local.EMAIL_BACKEND == "apps.core.mail.ConsoleAndFileEmailBackend"


def test_unverified_user_gets_no_tokens_from_the_api(make_headless, new_email, password):
    email = new_email("unverified")
    make_headless().post("/auth/signup", {"email": email, "password": password})

    client = make_headless()
    login = client.login(email, password)
    assert login.status == 401
    assert login.pending_flow() == "verify_email"
    assert client.access_token is None
    assert client.client.get("/api/v1/tenants").status_code == 401
    # The pending session token does not reach our API either.
    response = client.client.get(
        "/api/v1/auth/me", headers={"X-Session-Token": client.session_token or ""}
    )
    assert response.status_code == 401


def test_unverified_user_is_not_signed_in_on_the_pages(web, new_email, password, mailbox):
    email = new_email("unverified")
    assert web.post("/accounts/signup/", {"email": email, "password1": password}).status_code == 302
    web.post("/accounts/logout/")

    response = web.post("/accounts/login/", {"login": email, "password": password})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert web.get("/accounts/").status_code == 302
    assert web.get("/api/v1/auth/me").status_code == 401

    # The link from the mail confirms the address and signs the user in.
    link = f"/accounts/confirm-email/{mailbox.confirmation_key(email)}/"
    assert web.get(link).status_code == 200
    assert web.post(link).status_code == 302
    web.post("/accounts/logout/")
    assert web.post("/accounts/login/", {"login": email, "password": password})["Location"] == (
        "/accounts/"
    )
    assert web.get("/api/v1/auth/me").json()["email"] == email
