"""The plan's `api_requests_per_min`: one budget per tenant, per clock minute, over every API
request routed to it (reads and writes, from any of its callers, operators included). The
request past it answers 429 rate-limited with Retry-After and RateLimit-* headers; other
tenants, and the platform-wide operator routes, are not held back by it."""

import time

import pytest
from django.core.cache import cache
from django.test import override_settings
from rest_framework.settings import api_settings

from apps.accounts.services import api_key_create
from apps.billing import services as billing
from apps.core.actor import Actor
from apps.core.heartbeat import redis_client
from apps.tenants.models import Tenant
from tests.billing.factories import plan_make

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _tenant_rate_on(settings):
    """On, with counters of this minute only; a test starts well before the minute ends, so
    that its requests all fall in one window."""
    settings.THROTTLE_TENANT_ENABLED = True
    into_minute = time.time() % 60
    if into_minute > 50:
        time.sleep(60.2 - into_minute)
    client = redis_client()
    for key in client.scan_iter(match=cache.make_key("throttle:*")):
        client.delete(key)


def per_min(tenant, limit: int | None) -> None:
    Tenant.objects.filter(pk=tenant.pk).update(entitlements={"api_requests_per_min": limit})


@pytest.fixture
def alice(client_for, world):
    return client_for(world["alice"], world["tenant_a"])


def assert_rate_limited(response, *, limit: int) -> None:
    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/rate-limited"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response["RateLimit-Limit"] == str(limit)
    assert response["RateLimit-Remaining"] == "0"
    assert response["RateLimit-Reset"] == response["Retry-After"]


def test_the_request_past_the_limit_is_429_across_reads_and_writes(world, alice, client_for):
    per_min(world["tenant_a"], 4)
    first = alice.get("/api/v1/apps")
    assert first.status_code == 200
    assert first["RateLimit-Limit"] == "4" and first["RateLimit-Remaining"] == "3"
    created = alice.post("/api/v1/apps", {"name": "shop"}, format="json")
    assert created.status_code == 201, created.json()
    assert created["RateLimit-Remaining"] == "2"
    app_url = f"/api/v1/apps/{created.json()['id']}"
    assert alice.patch(app_url, {"branch": "release"}, format="json").status_code == 200
    assert alice.get(app_url).status_code == 200

    assert_rate_limited(alice.post("/api/v1/apps", {"name": "blog"}, format="json"), limit=4)
    assert_rate_limited(alice.get("/api/v1/apps"), limit=4)
    assert_rate_limited(alice.get("/api/v1/members"), limit=4)  # every route of the tenant

    # Another tenant has its own minute, whatever this one did.
    per_min(world["tenant_b"], 4)
    bob = client_for(world["bob"], world["tenant_b"])
    response = bob.get("/api/v1/apps")
    assert response.status_code == 200 and response["RateLimit-Remaining"] == "3"


def test_the_budget_is_the_tenants_shared_by_every_caller(world, alice, client_for, api_client):
    per_min(world["tenant_a"], 3)
    _key, raw = api_key_create(
        tenant=world["tenant_a"],
        name="ci",
        authority="member",
        actor=Actor(user=world["alice"], role="owner"),
    )
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_X_TENANT_ID="alpha")
    operator = client_for(world["operator"], world["tenant_a"])
    assert alice.get("/api/v1/apps").status_code == 200
    assert api_client.get("/api/v1/apps").status_code == 200
    assert operator.get("/api/v1/apps").status_code == 200  # an operator acting on the tenant
    assert_rate_limited(alice.get("/api/v1/apps"), limit=3)
    assert_rate_limited(api_client.get("/api/v1/apps"), limit=3)
    assert_rate_limited(operator.get("/api/v1/apps"), limit=3)


def test_outsiders_and_operator_routes_do_not_spend_it(world, alice, client_for):
    per_min(world["tenant_a"], 2)
    outsider = client_for(world["outsider"], world["tenant_a"])
    for _ in range(3):
        assert outsider.get("/api/v1/apps").status_code == 404  # no hint, no cost
    assert alice.get("/api/v1/apps").status_code == 200
    assert alice.get("/api/v1/apps").status_code == 200
    assert_rate_limited(alice.get("/api/v1/apps"), limit=2)

    # Platform-wide operator routes are not the tenant's, even with its header along: an
    # operator can still lift the limit of a tenant that has spent its minute.
    operator = client_for(world["operator"], world["tenant_a"])
    assert operator.get("/api/v1/admin/tenants").status_code == 200
    lifted = operator.patch(
        f"/api/v1/admin/tenants/{world['tenant_a'].pk}/entitlement-overrides",
        {"overrides": {"api_requests_per_min": 100}},
        format="json",
    )
    assert lifted.status_code == 200, lifted.json()
    assert client_for(world["operator"]).get("/api/v1/admin/tenants").status_code == 200
    response = alice.get("/api/v1/apps")
    assert response.status_code == 200 and response["RateLimit-Limit"] == "100"


def test_no_limit_is_no_tenant_rate(world, alice):
    per_min(world["tenant_a"], None)
    with override_settings(
        REST_FRAMEWORK={
            **api_settings.user_settings,
            "DEFAULT_THROTTLE_RATES": {"read": "50/min", "write": "50/min"},
        }
    ):
        statuses = {alice.get("/api/v1/apps").status_code for _ in range(6)}
        last = alice.get("/api/v1/apps")
    assert statuses == {200}
    assert last["RateLimit-Limit"] == "50"  # the caller's own budget, the only one


def test_the_headers_describe_the_budget_closest_to_running_out(world, alice):
    def rates(read: str):
        return override_settings(
            REST_FRAMEWORK={
                **api_settings.user_settings,
                "DEFAULT_THROTTLE_RATES": {"read": read, "write": "100/min"},
            }
        )

    per_min(world["tenant_a"], 10)
    with rates("3/min"):  # the caller's reads run out first
        response = alice.get("/api/v1/apps")
        assert (response["RateLimit-Limit"], response["RateLimit-Remaining"]) == ("3", "2")
        alice.get("/api/v1/apps")
        alice.get("/api/v1/apps")
        blocked = alice.get("/api/v1/apps")
        assert_rate_limited(blocked, limit=3)
    with rates("100/min"):  # now the tenant's is the closer: 10 - 5 used
        response = alice.get("/api/v1/apps")
        assert (response["RateLimit-Limit"], response["RateLimit-Remaining"]) == ("10", "5")


def test_a_lowered_limit_applies_from_the_next_request(world, alice):
    per_min(world["tenant_a"], 10)
    for _ in range(3):
        assert alice.get("/api/v1/apps").status_code == 200
    per_min(world["tenant_a"], 3)
    assert_rate_limited(alice.get("/api/v1/apps"), limit=3)


def test_the_plans_limit_is_the_one_enforced(world, alice):
    plan = plan_make(name="Hobby", slug="hobby", monthly_price_cents=300, api_rate_limit_per_min=2)
    account = billing.billing_account_ensure(tenant=world["tenant_a"])
    billing.operator_waive(account=account, waived=True, actor=Actor(user=world["operator"]))
    billing.operator_plan_assign(account=account, plan=plan, actor=Actor(user=world["operator"]))
    assert alice.get("/api/v1/billing").status_code == 200
    assert alice.get("/api/v1/apps").status_code == 200
    assert_rate_limited(alice.get("/api/v1/billing"), limit=2)
