import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.tenants.services import tenant_create

pytestmark = pytest.mark.django_db


def test_list_shows_only_my_tenants_with_my_role(client_for, world):
    response = client_for(world["alice"]).get("/api/v1/tenants")
    assert response.status_code == 200
    body = response.json()
    assert [t["slug"] for t in body["results"]] == ["alpha"]
    assert body["results"][0]["role"] == "owner"
    assert body["results"][0]["domain"] == "alpha.localhost"
    assert set(body) == {"results", "next", "previous"}


def test_another_tenant_answers_404_by_id_and_by_slug(client_for, world):
    client = client_for(world["alice"])
    bravo = world["tenant_b"]
    for ident in (str(bravo.pk), bravo.slug, "does-not-exist"):
        response = client.get(f"/api/v1/tenants/{ident}")
        assert response.status_code == 404
        assert response.json()["type"] == "/problems/not-found"


def test_retrieve_my_tenant_by_slug_and_id(client_for, world):
    client = client_for(world["alice"])
    by_slug = client.get("/api/v1/tenants/alpha").json()
    by_id = client.get(f"/api/v1/tenants/{world['tenant_a'].pk}").json()
    assert by_slug == by_id
    assert by_slug["name"] == "Alpha"


def test_create_makes_me_the_owner(client_for, world):
    client = client_for(world["outsider"])
    response = client.post("/api/v1/tenants", {"name": "Delta", "slug": "delta"})
    assert response.status_code == 201
    assert response.json()["role"] == "owner"
    assert response["Location"] == f"/api/v1/tenants/{response.json()['id']}"
    assert client.get("/api/v1/tenants/delta").status_code == 200


def test_list_costs_the_same_queries_for_1_or_20_tenants(client_for, world):
    user = world["outsider"]
    client = client_for(user)
    tenant_create(name="Q0", slug="q-0", owner=user)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get("/api/v1/tenants").json()["results"]) == 1
    for index in range(1, 20):
        tenant_create(name=f"Q{index}", slug=f"q-{index}", owner=user)
    with CaptureQueriesContext(connection) as twenty:
        assert len(client.get("/api/v1/tenants").json()["results"]) == 20
    assert len(twenty) == len(one)


def test_create_while_routed_to_a_tenant_makes_the_tenant_in_public(client_for, world):
    """A POST with X-Tenant-ID (or on a tenant's host) runs in that tenant's schema; creating a
    tenant there answered 500 ("Can't create tenant outside the public schema"), found by the
    API contract test's negative cases."""
    response = client_for(world["alice"], world["tenant_a"]).post(
        "/api/v1/tenants", {"name": "From Alpha", "slug": "from-alpha"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["slug"] == "from-alpha"
    again = client_for(world["alice"], world["tenant_a"]).post(
        "/api/v1/tenants", {"name": "Again", "slug": "from-alpha"}, format="json"
    )
    assert again.status_code == 400 and again.json()["errors"][0]["code"] == "taken"
