"""The sandbox sizes a plan sells (memory_mb, cpu_millicores per process, pids per sandbox,
disk_mb per app): on plans, in the plan API and the billing page, onto the tenant, overridden by
operators within bounds, and what the runtime is given (apps.deploy.selectors.resource_limits)."""

import pytest

from apps.billing import selectors, services
from apps.billing.models import Plan
from apps.core.actor import Actor
from apps.deploy.selectors import resource_limits
from apps.tenants.models import Membership, Role, Tenant
from apps.tenants.selectors import tenant_limit
from tests.assertions import assert_problem

from .factories import plan_make

pytestmark = pytest.mark.django_db

SIZES = ("memory_mb", "cpu_millicores", "pids", "disk_mb")


def _tenant(world) -> Tenant:
    return Tenant.objects.get(pk=world["tenant_a"].pk)


def test_the_free_plan_sells_a_small_sandbox_and_the_runtime_gets_it(world):
    free = selectors.plan_free()
    assert {name: getattr(free, name) for name in SIZES} == {
        "memory_mb": 256, "cpu_millicores": 500, "pids": 128, "disk_mb": 1024,
    }  # fmt: skip
    services.billing_account_ensure(tenant=world["tenant_a"])
    tenant = _tenant(world)
    assert tenant.entitlements["memory_mb"] == 256 and tenant_limit(tenant, "disk_mb") == 1024
    limits = resource_limits(tenant=tenant)
    assert (limits.memory_mb, limits.cpu_millicores, limits.pids, limits.disk_mb) == (
        256, 500, 128, 1024,
    )  # fmt: skip


def test_a_plan_without_sizes_leaves_the_operators_defaults(world, settings):
    settings.DEPLOY_SANDBOX_DEFAULT_MEMORY_MB = 768
    plan = plan_make(name="Bare", slug="bare", memory_mb=None, cpu_millicores=None)
    account = services.billing_account_ensure(tenant=world["tenant_a"])
    services.operator_waive(account=account, waived=True, actor=Actor(user=world["operator"]))
    services.operator_plan_assign(account=account, plan=plan, actor=Actor(user=world["operator"]))
    limits = resource_limits(tenant=_tenant(world))
    assert limits.memory_mb == 768 and limits.pids == plan.pids == 512


def test_plan_sizes_round_trip_through_the_admin_and_the_plan_api(world, admin_client, client_for):
    form = {
        "name": "Big", "slug": "big", "description": "", "sort_order": 1, "is_public": "on",
        "monthly_price_cents": 4900, "currency": "usd", "annual_discount_pct": 0,
        "credits_per_month": 0, "credit_reset_policy": "reset", "bonus_credits": 0,
        "memory_mb": 2048, "cpu_millicores": 4000, "pids": 1024, "disk_mb": 20480,
    }  # fmt: skip
    response = admin_client.post("/admin/billing/plan/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    plan = Plan.objects.get(slug="big")
    assert (plan.memory_mb, plan.cpu_millicores, plan.pids, plan.disk_mb) == (
        2048,
        4000,
        1024,
        20480,
    )
    plans = client_for(world["alice"], world["tenant_a"]).get("/api/v1/billing/plans").json()
    big = next(p for p in plans["results"] if p["slug"] == "big")
    assert {name: big["entitlements"][name] for name in SIZES} == {
        "memory_mb": 2048, "cpu_millicores": 4000, "pids": 1024, "disk_mb": 20480,
    }  # fmt: skip
    # Out of bounds: the form says so and nothing is saved.
    tiny = {**form, "slug": "tiny", "name": "Tiny", "memory_mb": 8, "cpu_millicores": 1}
    refused = admin_client.post("/admin/billing/plan/add/", tiny)
    assert refused.status_code == 200 and not Plan.objects.filter(slug="tiny").exists()
    page = refused.content.decode()
    assert "greater than or equal to 32" in page and "greater than or equal to 10" in page


@pytest.mark.parametrize(
    "overrides",
    [
        {"memory_mb": 16},
        {"memory_mb": 2_000_000},
        {"cpu_millicores": 5},
        {"pids": 0},
        {"pids": 8},
        {"disk_mb": 10},
        {"disk_mb": 10**9},
    ],
)
def test_operator_overrides_outside_the_bounds_are_refused(world, client_for, overrides):
    operator = client_for(world["operator"])
    url = "/api/v1/admin/tenants/alpha/entitlement-overrides"
    response = operator.patch(url, {"overrides": overrides}, format="json")
    (name,) = overrides
    (error,) = assert_problem(response, f"overrides.{name}")
    assert "between" in error["message"]
    assert _tenant(world).entitlement_overrides.get(name) is None


def test_operator_overrides_within_the_bounds_reach_the_runtime(world, client_for):
    services.billing_account_ensure(tenant=world["tenant_a"])
    operator = client_for(world["operator"])
    url = "/api/v1/admin/tenants/alpha/entitlement-overrides"
    changes = {"memory_mb": 32, "cpu_millicores": 2500, "pids": 16, "disk_mb": 16_777_216}
    body = operator.patch(url, {"overrides": changes}, format="json").json()
    assert {name: body["limits"][name] for name in SIZES} == changes
    limits = resource_limits(tenant=_tenant(world))
    assert (limits.memory_mb, limits.cpu_millicores) == (32, 2500)
    body = operator.patch(url, {"overrides": {"memory_mb": None}}, format="json").json()
    assert body["limits"]["memory_mb"] == 256  # the plan's again


def test_the_billing_page_shows_the_sizes(world, client):
    services.billing_account_ensure(tenant=world["tenant_a"])
    Membership.objects.get_or_create(
        tenant=world["tenant_a"], user=world["alice"], defaults={"role": Role.OWNER}
    )
    client.force_login(world["alice"])
    page = client.get("/console/billing/", HTTP_HOST="alpha.localhost").content.decode()
    assert 'data-limit="memory_mb"' in page and "256 MB" in page
    assert "0.5 CPU" in page and "128 processes" in page and "1 GB" in page
    assert "Memory per process" in page and "Disk per app" in page
