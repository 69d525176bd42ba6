"""The server side of `quay login`, in process (no live server, nothing truncated): the device
grant's refusals, and device-grant access tokens as API credentials, roles and tenants checked
as for a session."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from allauth.idp.oidc.models import Token
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.device_login import cli_client_ensure
from apps.tenants.models import Membership, Role
from tests.deploy.factories import deployed_app

from .conftest import oauth_token

DEVICE = "/identity/o/api/device/code"
TOKEN = "/identity/o/api/token"
GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def cli_client(db):
    return cli_client_ensure()


def test_device_grant_refusals(cli_client, client):
    def form(path, data):
        return client.post(path, urlencode(data), content_type="application/x-www-form-urlencoded")

    # Only the API scope: no OpenID tokens (and no signing key needed) for the CLI's client.
    openid = form(DEVICE, {"client_id": "quay-cli", "scope": "openid"})
    assert openid.status_code == 400 and openid.json()["error"] == "invalid_scope"
    unknown = form(DEVICE, {"client_id": "nobody"})
    assert unknown.status_code in (400, 401) and unknown.json()["error"].startswith("invalid_")

    device = form(DEVICE, {"client_id": "quay-cli", "scope": "api"}).json()
    assert device["interval"] >= 1 and device["expires_in"] == 600
    poll = {"grant_type": GRANT, "device_code": device["device_code"], "client_id": "quay-cli"}
    assert form(TOKEN, poll).json()["error"] == "authorization_pending"
    assert form(TOKEN, poll).json()["error"] == "slow_down"  # polled again at once
    wrong = form(TOKEN, {**poll, "device_code": "forged"})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    # Approving needs a signed-in person: the page sends everyone else to the login.
    page = client.get("/identity/o/device", {"code": device["user_code"]})
    assert page.status_code == 302 and "/accounts/login/" in page["Location"]


def test_device_codes_are_rate_limited_per_address(cli_client, client, settings):
    settings.IDP_OIDC_RATE_LIMITS = {"device_code": "3/m/ip"}
    body = urlencode({"client_id": "quay-cli", "scope": "api"})
    kinds = "application/x-www-form-urlencoded"
    answers = [
        client.post(DEVICE, body, content_type=kinds, REMOTE_ADDR="198.51.100.7") for _ in range(4)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].json()["error"] == "slow_down"
    other = client.post(DEVICE, body, content_type=kinds, REMOTE_ADDR="198.51.100.8")
    assert other.status_code == 200  # another address has its own budget


def _api(token: str, tenant) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_TENANT_ID=tenant.slug)
    return api


def test_access_tokens_act_as_their_person(cli_client, world, make_viewer):
    alpha, bravo = world["tenant_a"], world["tenant_b"]
    rows = deployed_app(alpha, world["alice"], name="shop")
    app_id = rows["app"].pk
    viewer = make_viewer(alpha)

    # A viewer reads, but may not deploy (403); a forged write changes nothing.
    as_viewer = _api(oauth_token(viewer), alpha)
    assert as_viewer.get("/api/v1/apps").status_code == 200
    denied = as_viewer.post(f"/api/v1/apps/{app_id}/deploy", {}, format="json")
    assert denied.status_code == 403
    # Another tenant, by slug or with the app's id: 404, as if it did not exist.
    assert _api(oauth_token(viewer), bravo).get("/api/v1/apps").status_code == 404
    as_bob = _api(oauth_token(world["bob"]), bravo)
    assert as_bob.get(f"/api/v1/apps/{app_id}").status_code == 404
    # The owner deploys with one.
    as_alice = _api(oauth_token(world["alice"]), alpha)
    assert as_alice.post(f"/api/v1/apps/{app_id}/deploy", {}, format="json").status_code == 202

    # Expired, revoked (deleted), or of a deactivated person: 401, one message.
    expired = oauth_token(world["alice"], expires_in_s=-1)
    assert _api(expired, alpha).get("/api/v1/apps").status_code == 401
    revoked = oauth_token(world["alice"])
    Token.objects.filter(user=world["alice"]).exclude(
        expires_at__lt=timezone.now() + timedelta(seconds=1)
    ).delete()
    answer = _api(revoked, alpha).get("/api/v1/apps")
    assert answer.status_code == 401 and "quay login" in answer.json()["detail"]
    gone = oauth_token(viewer)
    viewer.is_active = False
    viewer.save(update_fields=["is_active"])
    assert _api(gone, alpha).get("/api/v1/apps").status_code == 401


def test_other_bearer_credentials_are_left_to_their_own_checks(cli_client, world):
    # A JWT-shaped value goes on to allauth's JWT check (and fails there), an API key to ours.
    jwtish = _api("aaa.bbb.ccc", world["tenant_a"]).get("/api/v1/apps")
    assert jwtish.status_code == 401
    key = _api("qs_notakey", world["tenant_a"]).get("/api/v1/apps")
    assert key.status_code == 401 and "API key" in key.json()["detail"]


@pytest.fixture
def make_viewer(db, django_user_model):
    def make(tenant):
        user = django_user_model.objects.create_user(
            username="viewer@cli.example", email="viewer@cli.example", password="x"
        )
        Membership.objects.create(tenant=tenant, user=user, role=Role.VIEWER)
        return user

    return make


def test_operators_see_and_revoke_cli_tokens_in_the_admin(cli_client, client, world):
    """allauth's own admin pages: the clients, and the tokens (hashes only) an operator can
    delete to sign a device out."""
    oauth_token(world["alice"])
    world["operator"].is_superuser = True
    world["operator"].save()
    client.force_login(world["operator"])
    assert client.get("/admin/allauth_idp_oidc/client/").status_code == 200
    assert client.get("/admin/allauth_idp_oidc/token/").status_code == 200
