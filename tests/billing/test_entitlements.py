"""Plan limits on the tenant, enforced where they are used, and the plan that lifts them."""

import pytest

from apps.billing import selectors, services
from apps.billing.quota import quota_upgrade_hint
from apps.core import problems
from apps.core.actor import SYSTEM, Actor
from apps.core.problems import QuotaExceeded
from apps.tenants.models import Membership, Tenant
from apps.tenants.selectors import tenant_limit, tenant_limits
from apps.tenants.services import tenant_entitlement_overrides_update

from .factories import plan_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def plans():
    free = selectors.plan_free()
    free.user_limit = 1  # the operator's free plan: one person
    services.plan_save(plan=free)
    return {
        "duo": plan_make(name="Duo", slug="duo", monthly_price_cents=900, user_limit=2),
        "team": plan_make(name="Team", slug="team", monthly_price_cents=2900, user_limit=10),
        "scale": plan_make(name="Scale", slug="scale", monthly_price_cents=9900, user_limit=None),
    }


def put_on(world, plan):
    account = services.billing_account_ensure(tenant=world["tenant_a"])
    services.operator_waive(account=account, waived=True, actor=Actor(user=world["operator"]))
    services.operator_plan_assign(account=account, plan=plan, actor=Actor(user=world["operator"]))
    return Tenant.objects.get(pk=world["tenant_a"].pk)


def test_the_plans_limits_are_read_through_the_one_selector(world, plans):
    tenant = put_on(world, plans["duo"])
    assert tenant_limit(tenant, "users") == 2
    assert tenant_limit(tenant, "apps") == plans["duo"].max_apps
    assert tenant_limits(tenant)["custom_domains"] == plans["duo"].max_custom_domains
    # Unlimited on the plan is unlimited on the tenant (not the tenants app's default).
    tenant = put_on(world, plans["scale"])
    assert tenant_limit(tenant, "users") is None


def test_an_operator_override_outlives_plan_changes(world, plans):
    tenant = put_on(world, plans["duo"])
    tenant_entitlement_overrides_update(tenant=tenant, changes={"users": 7}, actor=SYSTEM)
    tenant = put_on(world, plans["team"])
    assert tenant_limit(tenant, "users") == 7


def test_exceeding_the_user_limit_answers_409_quota_exceeded(client_for, world, plans):
    put_on(world, plans["duo"])
    client = client_for(world["alice"], world["tenant_a"])
    first = client.post("/api/v1/invitations", {"email": "one@x.example", "role": "member"})
    assert first.status_code == 201, first.json()
    second = client.post("/api/v1/invitations", {"email": "two@x.example", "role": "member"})
    assert second.status_code == 409
    body = second.json()
    assert body["type"] == "/problems/quota-exceeded"
    assert body["limit"] == "users" and body["allowed"] == 2


@pytest.mark.skipif(
    not hasattr(problems, "PROBLEM_EXTENSIONS"),
    reason="needs apps.core.problems.PROBLEM_EXTENSIONS, applied by "
    "apps.core.api.exceptions.problem_exception_handler (see docs/billing.md, lead TODO)",
)
def test_the_quota_problem_names_the_plan_that_lifts_the_limit(client_for, world, plans):
    put_on(world, plans["duo"])
    Membership.objects.create(
        tenant=world["tenant_a"],
        user=world["outsider"],
        role="member",
    )
    response = client_for(world["alice"], world["tenant_a"]).post(
        "/api/v1/invitations", {"email": "three@x.example", "role": "member"}
    )
    assert response.status_code == 409
    assert response.json()["upgrade_plan"]["slug"] == "team"
    assert response.json()["upgrade_plan"]["limit"] == 10


def test_the_lifting_plan_is_the_cheapest_public_one_above_the_limit(plans):
    assert selectors.plan_lifting_limit("users", 2) == plans["team"]
    assert selectors.plan_lifting_limit("users", 10) == plans["scale"]  # unlimited lifts all
    plans["scale"].is_public = False
    services.plan_save(plan=plans["scale"])
    assert selectors.plan_lifting_limit("users", 10) is None
    assert selectors.plan_lifting_limit("no_such_limit", 1) is None


def test_the_hint_for_a_quota_problem(plans):
    hint = quota_upgrade_hint(QuotaExceeded("x", extra={"limit": "users", "allowed": 2}))
    assert hint["upgrade_plan"]["slug"] == "team" and hint["upgrade_plan"]["name"] == "Team"
    assert quota_upgrade_hint(QuotaExceeded("x", extra={"limit": 3})) == {}
    assert quota_upgrade_hint(problems.Conflict("x")) == {}
