"""GET /api/v1/auth/me: the user, their tenants with roles, and their MFA state."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

from apps.tenants.models import Membership, Role
from apps.tenants.services import tenant_create

pytestmark = pytest.mark.django_db


def _tenant(slug_hint: str, owner):
    return tenant_create(
        name=slug_hint.title(), slug=f"{slug_hint}-{owner.pk.hex[:6]}", owner=owner
    )


def test_me_shows_the_user_their_tenants_and_roles(headless, verified_user, password):
    user = verified_user()
    user.first_name, user.last_name = "Grace", "Hopper"
    user.save()
    someone = verified_user()
    own = _tenant("anchor", user)
    joined = _tenant("buoy", someone)
    Membership.objects.create(tenant=joined, user=user, role=Role.ADMIN)
    _tenant("cutter", someone)  # not theirs

    headless.login(user.email, password)
    response = headless.api_get("/api/v1/auth/me")
    assert response.status_code == 200, response.content
    me = response.json()
    assert me["id"] == str(user.pk)
    assert me["email"] == user.email
    assert me["name"] == "Grace Hopper"
    assert me["is_staff"] is False
    assert me["date_joined"].endswith("Z")
    assert [(t["slug"], t["role"]) for t in me["tenants"]] == [
        (own.slug, "owner"),
        (joined.slug, "admin"),
    ]
    assert me["tenants"][0]["domain"].startswith(f"{own.slug}.")
    assert me["mfa"] == {
        "enabled": False,
        "types": [],
        "recovery_codes_left": None,
        "required": False,
    }


def test_me_works_with_a_browser_session_too(web, verified_user, password):
    user = verified_user()
    assert (
        web.post("/accounts/login/", {"login": user.email, "password": password}).status_code == 302
    )
    response = web.get("/api/v1/auth/me")
    assert response.status_code == 200
    assert response.json()["email"] == user.email


def test_me_needs_credentials(web):
    response = web.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert response.json()["type"] == "/problems/not-authenticated"


@override_settings(MFA_REQUIRED_FOR_STAFF=True)
def test_me_tells_staff_that_mfa_is_required(headless, verified_user, password):
    staff = verified_user(staff=True)
    headless.login(staff.email, password)
    me = headless.api_get("/api/v1/auth/me").json()
    assert me["is_staff"] is True
    assert me["mfa"]["required"] is True and me["mfa"]["enabled"] is False


def test_me_costs_the_same_queries_whatever_the_number_of_tenants(
    headless, verified_user, password
):
    user = verified_user()
    headless.login(user.email, password)
    _tenant("dock", user)
    with CaptureQueriesContext(connection) as one:
        assert headless.api_get("/api/v1/auth/me").status_code == 200
    for hint in ("eddy", "ferry", "gale"):
        _tenant(hint, user)
    with CaptureQueriesContext(connection) as four:
        assert len(headless.api_get("/api/v1/auth/me").json()["tenants"]) == 4
    assert len(four) == len(one)


def test_an_api_key_answers_for_itself_in_its_tenant(api_client, world):
    from apps.accounts.services import api_key_create

    key, raw = api_key_create(tenant=world["tenant_a"], name="ci", authority="member")
    response = api_client.get(
        "/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_X_TENANT_ID="alpha"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["kind"] == "api_key"
    assert body["api_key"]["id"] == str(key.pk)
    assert body["api_key"]["authority"] == "member"
    assert body["tenant"]["slug"] == "alpha"
    assert raw not in response.content.decode()


def test_an_api_key_on_the_root_host_without_a_tenant_is_refused(api_client, world):
    from apps.accounts.services import api_key_create

    _, raw = api_key_create(tenant=world["tenant_a"], name="ci", authority="member")
    response = api_client.get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 403
