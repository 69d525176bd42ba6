"""Sign-up gives the new user a personal tenant they own, in the same request and transaction,
in well under a second."""

import time
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django_tenants.utils import schema_exists

from apps.accounts.auth.signup import personal_slug_base, personal_slug_choose
from apps.core.models import AuditEvent
from apps.tenants import provisioning
from apps.tenants.models import Membership, Tenant
from apps.tenants.services import tenant_create, tenant_slug_validate

pytestmark = pytest.mark.django_db

SIGNUP_BUDGET_S = 1.0


def _signed_up_tenant(email: str) -> Membership:
    return Membership.objects.select_related("tenant").get(user__email=email)


@pytest.mark.parametrize(
    ("channel", "first_name", "expected_name"),
    [
        ("api", "", "{local}'s workspace"),
        ("api", "Ada", "Ada's workspace"),
        ("page", "", "{local}'s workspace"),
        ("page", "Grace", "Grace's workspace"),
    ],
)
def test_sign_up_creates_a_personal_tenant_owned_by_the_user_within_a_second(
    channel, first_name, expected_name, web, new_email, password
):
    # Schemas come from the spare pool, as they do with the default settings (tests otherwise
    # replay the render, which is slower on a loaded machine and is timed in test_tenant_create).
    provisioning.spares_fill(target=2)
    # Warm the process (templates, password lists, URL resolvers) with another sign-up first.
    web.post("/accounts/signup/", {"email": new_email("warm-up"), "password1": password})
    web.post("/accounts/logout/")

    email = new_email("sailor")
    started = time.perf_counter()
    if channel == "api":
        response = web.post(
            "/api/v1/auth/app/v1/auth/signup",
            {"email": email, "password": password, "first_name": first_name},
            content_type="application/json",
        )
        assert response.status_code == 401  # verification pending
    else:
        response = web.post(
            "/accounts/signup/",
            {"email": email, "password1": password, "first_name": first_name},
        )
        assert response.status_code == 302, response.content.decode()[:2000]
    elapsed = time.perf_counter() - started

    membership = _signed_up_tenant(email)
    assert membership.role == "owner"
    tenant = membership.tenant
    assert tenant.status == "active"
    assert tenant.name == expected_name.format(local=email.split("@")[0])
    assert tenant.slug == personal_slug_base(email)
    assert schema_exists(tenant.schema_name)
    signed_up = AuditEvent.objects.get(action="user.signed_up", target_id=str(membership.user_id))
    assert signed_up.metadata == {"method": "password", "personal_tenant": tenant.slug}
    created = AuditEvent.objects.get(action="tenant.created", tenant_id=tenant.pk)
    assert created.metadata["schema_path"] == "spare"
    assert elapsed < SIGNUP_BUDGET_S, f"sign-up took {elapsed:.3f}s"


@pytest.mark.parametrize(
    ("email", "slug"),
    [
        ("Jane.Doe+ci@example.com", "jane-doe"),
        ("a@example.com", "a-workspace"),
        ("ab@example.com", "ab-workspace"),
        ("Ümlaut_Straße@example.com", "umlaut-strae"),
        ("---@example.com", "workspace"),
        ("1234@example.com", "1234"),
        ("x" * 64 + "@example.com", "x" * 33),
        ("a..b__c@example.com", "a-b-c"),
    ],
)
def test_slug_comes_from_the_local_part_and_is_valid(email, slug):
    assert personal_slug_base(email) == slug
    assert tenant_slug_validate(slug) == slug


def test_taken_or_reserved_slugs_get_a_number(verified_user):
    owner = verified_user()
    tenant_create(name="Existing", slug="harbour-master", owner=owner)
    assert personal_slug_choose("harbour.master@example.com") == "harbour-master-2"
    assert personal_slug_choose("admin@example.com") == "admin-2"
    for n in range(2, 10):
        tenant_create(name=f"Admin {n}", slug=f"admin-{n}", owner=owner)
    fallback = personal_slug_choose("admin@example.com")
    assert fallback.startswith("admin-") and len(fallback) == len("admin-") + 6
    assert tenant_slug_validate(fallback) == fallback


def test_two_people_with_the_same_local_part_get_two_tenants(make_headless, password):
    emails = ["pilot@one.example", "pilot@two.example"]
    for email in emails:
        assert (
            make_headless().post("/auth/signup", {"email": email, "password": password}).status
            == 401
        )
    tenants = Tenant.objects.filter(memberships__user__email__in=emails, memberships__role="owner")
    assert sorted(tenants.values_list("slug", flat=True)) == ["pilot", "pilot-2"]


def test_signing_up_twice_makes_no_second_user_or_tenant(make_headless, new_email, password):
    email = new_email("twice")
    for _ in range(2):
        answer = make_headless().post("/auth/signup", {"email": email, "password": password})
        assert answer.status == 401  # the same answer: nothing tells the email is taken
    assert get_user_model().objects.filter(email=email).count() == 1
    assert Membership.objects.filter(user__email=email).count() == 1


def test_a_failing_tenant_leaves_no_user_behind(web, new_email, password):
    email = new_email("rollback")
    with (
        mock.patch("apps.accounts.auth.signup.tenant_create", side_effect=RuntimeError("boom")),
        pytest.raises(RuntimeError),
    ):
        web.post(
            "/api/v1/auth/app/v1/auth/signup",
            {"email": email, "password": password},
            content_type="application/json",
        )
    assert not get_user_model().objects.filter(email=email).exists()
