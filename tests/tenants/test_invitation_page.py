"""The HTML page of an invitation link, /invitations/<token> on the root host."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest
from django.test import Client
from django.utils import timezone

from apps.tenants.models import Invitation, Membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def invited(team, invite):
    return invite(team.alpha, "charlie@example.com", by=team.owner)


def test_a_visitor_sees_the_invitation_and_sign_in_and_sign_up_links(client, invited):
    _, token = invited
    response = client.get(f"/invitations/{token}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Alpha" in html and "charlie@example.com" in html and "alice@example.com" in html
    back = quote(f"/invitations/{token}", safe="")
    assert f"/accounts/login/?next={back}" in html
    assert f"/accounts/signup/?next={back}" in html
    assert response["Referrer-Policy"] == "no-referrer"
    assert "<form" not in html


def test_the_invited_user_accepts_with_a_post(team, invited):
    _, token = invited
    client = Client(enforce_csrf_checks=True)
    client.force_login(team.outsider)
    page = client.get(f"/invitations/{token}")
    assert page.status_code == 200
    assert "<form" in page.content.decode()
    csrf = page.cookies["csrftoken"].value
    response = client.post(f"/invitations/{token}", {"csrfmiddlewaretoken": csrf})
    assert response.status_code == 200
    assert "Welcome to Alpha" in response.content.decode()
    assert "alpha.localhost" in response.content.decode()
    assert Membership.objects.filter(tenant=team.alpha, user=team.outsider).exists()


def test_a_post_without_csrf_token_is_refused(team, invited):
    _, token = invited
    client = Client(enforce_csrf_checks=True)
    client.force_login(team.outsider)
    assert client.post(f"/invitations/{token}").status_code == 403
    assert not Membership.objects.filter(tenant=team.alpha, user=team.outsider).exists()


def test_another_signed_in_user_is_told_to_switch_accounts(client, team, invited):
    _, token = invited
    client.force_login(team.member)
    html = client.get(f"/invitations/{token}").content.decode()
    assert "signed in as erin@example.com" in html
    assert "<form" not in html
    response = client.post(f"/invitations/{token}")
    assert response.status_code == 403
    assert (
        not Membership.objects.filter(tenant=team.alpha, user=team.member, role="member")
        .exclude(pk=team.memberships["member"].pk)
        .exists()
    )


def test_an_expired_invitation_says_so(client, team, invited):
    invitation, token = invited
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - dt.timedelta(days=1)
    )
    client.force_login(team.outsider)
    response = client.get(f"/invitations/{token}")
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert client.post(f"/invitations/{token}").status_code == 409


def test_an_unknown_link_is_a_404_page(client):
    response = client.get("/invitations/" + "0" * 64)
    assert response.status_code == 404
    assert "not valid" in response.content.decode()
