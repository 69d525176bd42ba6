"""The plan's `custom_domains` limit: every claim of the tenant counts, pending or verified.
One more past it answers 409 quota-exceeded naming the plan that lifts it; a downgrade keeps
the domains a tenant has and refuses new ones; the count is taken under the per-tenant quota
lock. Other tenants' claims on the same hostname are theirs."""

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.billing.selectors import plan_free
from apps.deploy import services
from apps.deploy.models import AppDomain, DomainStatus
from apps.tenants.models import Tenant
from tests.billing.factories import plan_make, put_on
from tests.core.locks import lock_taken_elsewhere

pytestmark = pytest.mark.django_db


@pytest.fixture
def plans():
    # The free plan allows no custom domain at all.
    return {
        "solo": plan_make(name="Solo", slug="solo", monthly_price_cents=500, max_custom_domains=2),
        "crew": plan_make(name="Crew", slug="crew", monthly_price_cents=2900, max_custom_domains=5),
    }


def app_in(tenant, owner, name: str = "shop"):
    with tenant_context(tenant):
        app, _secret = services.app_create(
            tenant=tenant, actor=services.Actor(user=owner), name=name
        )
    return app


@pytest.fixture
def alpha_app(world):
    return app_in(world["tenant_a"], world["alice"])


@pytest.fixture
def alice(client_for, world):
    return client_for(world["alice"], world["tenant_a"])


def add(client, app, hostname: str):
    return client.post(f"/api/v1/apps/{app.pk}/domains", {"hostname": hostname}, format="json")


def verified(tenant, app, hostname: str) -> None:
    """A domain whose TXT record was found (the DNS lookup is not what is tested here)."""
    with tenant_context(tenant):
        AppDomain.objects.create(
            app=app, hostname=hostname, verification_token="t" * 32,
            status=DomainStatus.VERIFIED, verified_at=timezone.now(),
        )  # fmt: skip


def hostnames(tenant) -> list[str]:
    with tenant_context(tenant):
        return sorted(AppDomain.objects.values_list("hostname", flat=True))


def test_verified_and_pending_domains_count_and_one_more_is_409(world, plans, alice, alpha_app):
    put_on(world, plans["solo"])
    verified(world["tenant_a"], alpha_app, "www.alpha.example")
    assert add(alice, alpha_app, "shop.alpha.example").status_code == 201  # pending

    response = add(alice, alpha_app, "api.alpha.example")
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/quota-exceeded"
    assert body["limit"] == "custom_domains" and body["allowed"] == 2 and body["used"] == 2
    assert body["upgrade_plan"]["slug"] == "crew" and body["upgrade_plan"]["limit"] == 5
    assert hostnames(world["tenant_a"]) == ["shop.alpha.example", "www.alpha.example"]


def test_the_limit_spans_the_tenants_apps_and_not_other_tenants(
    world, plans, alice, alpha_app, client_for
):
    put_on(world, plans["solo"])
    other_app = app_in(world["tenant_a"], world["alice"], name="blog")
    bravo_app = app_in(world["tenant_b"], world["bob"])
    bob = client_for(world["bob"], world["tenant_b"])
    for host in ("a.bravo.example", "b.bravo.example", "c.bravo.example"):
        assert add(bob, bravo_app, host).status_code == 201  # bravo has no limit
    assert add(alice, alpha_app, "a.bravo.example").status_code == 201  # a competing claim
    assert add(alice, other_app, "blog.alpha.example").status_code == 201
    assert add(alice, other_app, "news.alpha.example").status_code == 409


def test_after_a_downgrade_the_domains_stay_and_a_new_one_is_409(world, plans, alice, alpha_app):
    put_on(world, plans["crew"])
    verified(world["tenant_a"], alpha_app, "www.alpha.example")
    for host in ("shop.alpha.example", "api.alpha.example"):
        assert add(alice, alpha_app, host).status_code == 201
    put_on(world, plans["solo"])

    listed = alice.get(f"/api/v1/apps/{alpha_app.pk}/domains")
    assert listed.status_code == 200
    assert len(listed.json()["results"]) == 3
    refused = add(alice, alpha_app, "docs.alpha.example")
    assert refused.status_code == 409
    assert refused.json()["allowed"] == 2 and refused.json()["used"] == 3

    # Back on free (no custom domains): still kept; and removing one does not make room.
    put_on(world, plan_free())
    with tenant_context(world["tenant_a"]):
        domain = AppDomain.objects.get(hostname="api.alpha.example")
    assert alice.delete(f"/api/v1/apps/{alpha_app.pk}/domains/{domain.pk}").status_code == 204
    refused = add(alice, alpha_app, "docs.alpha.example")
    assert refused.status_code == 409
    assert refused.json()["allowed"] == 0
    assert refused.json()["upgrade_plan"]["slug"] == "solo"
    assert hostnames(world["tenant_a"]) == ["shop.alpha.example", "www.alpha.example"]


def test_a_domain_add_under_the_limit_holds_the_quota_lock_until_it_commits(
    world, alice, alpha_app
):
    lock = f"quota:{world['tenant_a'].pk}:custom_domains"
    assert add(alice, alpha_app, "free.alpha.example").status_code == 201
    assert not lock_taken_elsewhere(lock)  # no limit, no lock
    Tenant.objects.filter(pk=world["tenant_a"].pk).update(entitlements={"custom_domains": 5})
    assert add(alice, alpha_app, "counted.alpha.example").status_code == 201
    assert lock_taken_elsewhere(lock)
