"""Opening a workspace's console from the root host signs the person in on its host once, by a
signed one-time token (apps/accounts/auth/handoff.py), instead of asking for the password again."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

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
    return parse_qs(location.query)["token"][0]


def _hand_off(token: str, host: str, browser: Client | None = None) -> tuple[Client, str]:
    """Open the handoff link, then press Continue (a CSRF-checked POST on that host)."""
    browser = browser or Client(enforce_csrf_checks=True)  # nobody signed in there yet
    page = browser.get(f"/accounts/handoff/?{urlencode({'token': token})}", HTTP_HOST=host)
    if page.status_code == 302:
        return browser, page["Location"]
    assert page.status_code == 200 and "Continue" in page.content.decode()
    response = browser.post(
        "/accounts/handoff/",
        {"token": token, "csrfmiddlewaretoken": page.context["csrf_token"]},
        HTTP_HOST=host,
    )
    assert response.status_code == 302, response.status_code
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


def test_the_link_alone_signs_nobody_in_and_never_switches_a_signed_in_browser(world):
    """Login CSRF: a link made by someone else shows whose account it opens and does nothing
    until Continue is pressed; a browser signed in here as another person is not switched."""
    alice = world["alice"]
    token = _token_for(alice, "alpha")
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(
        f"/accounts/handoff/?{urlencode({'token': token})}", HTTP_HOST="alpha.localhost"
    )
    assert page.status_code == 200 and alice.email in page.content.decode()
    assert "_auth_user_id" not in browser.session
    forged = browser.post("/accounts/handoff/", {"token": token}, HTTP_HOST="alpha.localhost")
    assert forged.status_code == 403  # a cross-site POST carries no CSRF token
    assert "_auth_user_id" not in browser.session

    from django.contrib.auth import get_user_model

    email = "someone-else@example.com"
    other = get_user_model().objects.create_user(username=email, email=email, password="x-pw-1")
    Membership.objects.create(tenant=world["tenant_a"], user=other, role=Role.MEMBER)
    signed_in = Client()
    signed_in.force_login(other)
    refused = signed_in.get(
        f"/accounts/handoff/?{urlencode({'token': token})}", HTTP_HOST="alpha.localhost"
    )
    assert refused.status_code == 409 and "Sign out first" in refused.content.decode()
    assert signed_in.session["_auth_user_id"] == str(other.pk)
