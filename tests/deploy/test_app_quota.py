"""The plan's `apps` limit: creating one more app past it answers 409 quota-exceeded naming the
plan that lifts it; a downgrade keeps the apps a tenant has and refuses new ones; the count is
taken under the per-tenant quota lock."""

import pytest
from django_tenants.utils import tenant_context

from apps.deploy.models import App
from apps.tenants.models import Tenant
from tests.billing.factories import plan_make, put_on
from tests.core.locks import lock_taken_elsewhere

pytestmark = pytest.mark.django_db


@pytest.fixture
def plans():
    # The free plan (2 apps, no price) must not be the one that lifts a limit of 2.
    return {
        "solo": plan_make(name="Solo", slug="solo", monthly_price_cents=500, max_apps=2),
        "crew": plan_make(name="Crew", slug="crew", monthly_price_cents=2900, max_apps=5),
        "fleet": plan_make(name="Fleet", slug="fleet", monthly_price_cents=9900, max_apps=None),
    }


@pytest.fixture
def alice(client_for, world):
    return client_for(world["alice"], world["tenant_a"])


def create(client, name: str):
    return client.post("/api/v1/apps", {"name": name}, format="json")


def app_names(tenant) -> list[str]:
    with tenant_context(tenant):
        return sorted(App.objects.values_list("name", flat=True))


def test_creating_past_the_apps_limit_is_409_naming_the_plan_that_lifts_it(world, plans, alice):
    put_on(world, plans["solo"])
    assert create(alice, "one").status_code == 201
    assert create(alice, "two").status_code == 201

    response = create(alice, "three")
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/quota-exceeded"
    assert body["limit"] == "apps" and body["allowed"] == 2 and body["used"] == 2
    assert body["upgrade_plan"]["slug"] == "crew" and body["upgrade_plan"]["limit"] == 5
    assert app_names(world["tenant_a"]) == ["one", "two"]


def test_after_a_downgrade_the_apps_stay_and_a_new_one_is_409(world, plans, alice):
    put_on(world, plans["crew"])
    for name in ("one", "two", "three"):
        assert create(alice, name).status_code == 201
    put_on(world, plans["solo"])

    listed = alice.get("/api/v1/apps")
    assert listed.status_code == 200
    assert sorted(a["name"] for a in listed.json()["results"]) == ["one", "three", "two"]
    refused = create(alice, "four")
    assert refused.status_code == 409
    assert refused.json()["limit"] == "apps"
    assert refused.json()["allowed"] == 2 and refused.json()["used"] == 3
    assert app_names(world["tenant_a"]) == ["one", "three", "two"]

    put_on(world, plans["fleet"])  # unlimited
    assert create(alice, "four").status_code == 201


def test_an_operator_override_lifts_the_plans_app_limit(world, plans, alice):
    put_on(world, plans["solo"])
    Tenant.objects.filter(pk=world["tenant_a"].pk).update(entitlement_overrides={"apps": 3})
    for name in ("one", "two", "three"):
        assert create(alice, name).status_code == 201
    assert create(alice, "four").status_code == 409


def test_an_app_create_under_the_limit_holds_the_quota_lock_until_it_commits(world, alice):
    lock = f"quota:{world['tenant_a'].pk}:apps"
    assert create(alice, "free-for-all").status_code == 201
    assert not lock_taken_elsewhere(lock)  # no limit, no lock
    Tenant.objects.filter(pk=world["tenant_a"].pk).update(entitlements={"apps": 5})
    assert create(alice, "counted").status_code == 201
    # The test's transaction is still open: another create would wait here for the count.
    assert lock_taken_elsewhere(lock)
