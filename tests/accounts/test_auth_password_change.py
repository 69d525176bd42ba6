"""Password change on the API and the pages: the new password works, the old one does not, and
every session of the user ends (ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE), its tokens with it."""

import pytest

from apps.core.models import AuditEvent

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Pier-Lantern-93"


def test_password_change_on_the_api_ends_every_session(make_headless, verified_user, password):
    user = verified_user()
    laptop, phone = make_headless(), make_headless()
    laptop.login(user.email, password)
    phone.login(user.email, password)

    wrong = laptop.post(
        "/account/password/change",
        {"current_password": "not-it", "new_password": NEW_PASSWORD},
    )
    assert wrong.status == 400
    changed = laptop.post(
        "/account/password/change",
        {"current_password": password, "new_password": NEW_PASSWORD},
    )
    assert changed.status == 401, changed.body  # signed out
    assert changed.body["meta"]["is_authenticated"] is False

    for client in (laptop, phone):
        assert client.api_get("/api/v1/auth/me").status_code == 401
        assert client.post("/tokens/refresh", {"refresh_token": client.refresh_token}).status == 400
    assert make_headless().login(user.email, password).status == 400
    assert make_headless().login(user.email, NEW_PASSWORD).status == 200
    changes = AuditEvent.objects.filter(action="user.password_changed", target_id=str(user.pk))
    assert changes.exists()


def test_password_change_on_the_pages(web, verified_user, password):
    user = verified_user()
    web.post("/accounts/login/", {"login": user.email, "password": password})
    response = web.post(
        "/accounts/password/change/",
        {"oldpassword": password, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert web.get("/accounts/").status_code == 302  # signed out
    old = web.post("/accounts/login/", {"login": user.email, "password": password})
    assert old.status_code == 200
    new = web.post("/accounts/login/", {"login": user.email, "password": NEW_PASSWORD})
    assert new.status_code == 302
