"""Opening a workspace's console from the root host signs the person in on its host once, by a
signed one-time token (apps/accounts/auth/handoff.py), instead of asking for the password again."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.test import Client

from apps.accounts.auth import handoff
from apps.core.models import AuditEvent
from apps.tenants.models import Membership, Role

pytestmark = pytest.mark.django_db

ROOT = "localhost"


def _token_for(user, slug: str) -> str:
    root = Client()
    root.force_login(user)
    response = root.get(f"/accounts/open/{slug}/", HTTP_HOST=ROOT)
    assert response.status_code == 302, response.status_code
    location = urlsplit(response["Location"])
    assert location.netloc.split(":")[0] == f"{slug}.localhost"
    assert location.path == "/accounts/handoff/"
    return location.query.removeprefix("token=")


def _hand_off(token: str, host: str) -> tuple[Client, str]:
    browser = Client()  # the workspace host's own cookies: nobody signed in yet
    response = browser.get(f"/accounts/handoff/?token={token}", HTTP_HOST=host)
    assert response.status_code == 302
    return browser, response["Location"]


def test_the_account_page_opens_the_console_signed_in(world):
    alice = world["alice"]
    root = Client()
    root.force_login(alice)
    home = root.get("/accounts/", HTTP_HOST=ROOT).content.decode()
    assert 'href="/accounts/open/alpha/"' in home

    browser, location = _hand_off(_token_for(alice, "alpha"), "alpha.localhost")
    assert location == "/console/"
    assert browser.get("/console/", HTTP_HOST="alpha.localhost").status_code == 200
    row = AuditEvent.objects.filter(action="user.logged_in", target_id=str(alice.pk)).latest(
        "created_at"
    )
    assert row.metadata["via"] == "console handoff"


def test_a_token_is_used_once_and_only_on_its_own_workspace(world):
    alice = world["alice"]
    token = _token_for(alice, "alpha")
    # alice is no member of bravo: the token is alpha's, and bravo's console would 404 anyway
    _, location = _hand_off(token, "bravo.localhost")
    assert location.startswith("/accounts/login/")
    _, location = _hand_off(token, "alpha.localhost")
    assert location == "/console/"
    browser, location = _hand_off(token, "alpha.localhost")  # replayed
    assert location.startswith("/accounts/login/")
    assert browser.get("/console/", HTTP_HOST="alpha.localhost").status_code == 302


@pytest.mark.parametrize("spoil", ["tampered", "expired", "password", "removed", "empty"])
def test_a_spoiled_token_falls_back_to_signing_in(world, monkeypatch, django_user_model, spoil):
    email = f"handoff-{spoil}@example.com"
    person = django_user_model.objects.create_user(
        username=email, email=email, password="a-long-password-1"
    )
    Membership.objects.create(tenant=world["tenant_a"], user=person, role=Role.MEMBER)
    token = _token_for(person, "alpha")
    if spoil == "tampered":
        token = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    elif spoil == "expired":
        monkeypatch.setattr(handoff, "HANDOFF_MAX_AGE_S", -1)
    elif spoil == "password":
        person.set_password("another-long-password-2")
        person.save()
    elif spoil == "removed":
        Membership.objects.filter(user=person).delete()
    elif spoil == "empty":
        token = ""
    browser, location = _hand_off(token, "alpha.localhost")
    assert location == "/accounts/login/?next=%2Fconsole%2F"
    assert "_auth_user_id" not in browser.session


def test_only_members_get_a_token(world, client):
    client.force_login(world["alice"])
    assert client.get("/accounts/open/bravo/", HTTP_HOST=ROOT).status_code == 404
    assert client.get("/accounts/open/nowhere/", HTTP_HOST=ROOT).status_code == 404
    client.logout()
    anonymous = client.get("/accounts/open/alpha/", HTTP_HOST=ROOT)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    # The handoff is a tenant host's page: the root host has none.
    assert client.get("/accounts/handoff/?token=x", HTTP_HOST=ROOT).status_code == 404
