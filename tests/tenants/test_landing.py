"""`/` leads somewhere: on the root host to sign-in or the signed-in person's console, on a
tenant's host to its console."""

import pytest

from apps.tenants.models import Membership, Role, TenantStatus
from apps.tenants.services import tenant_create

pytestmark = pytest.mark.django_db

ROOT = "localhost"


def test_anonymous_visitors_of_the_root_host_are_sent_to_sign_in(client, world):
    response = client.get("/", HTTP_HOST=ROOT)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2F"
    assert response["Cache-Control"].startswith("max-age=0")  # never cached: it depends on who


def test_signed_in_people_go_to_their_own_tenants_console(client, team, settings):
    settings.ROOT_URL = "http://localhost:8000"
    client.force_login(team.owner)  # alice owns alpha
    response = client.get("/", HTTP_HOST=ROOT)
    assert response.status_code == 302
    # Through the one-time sign-in handoff to the tenant's host (tests/accounts/test_handoff.py).
    assert response["Location"] == "/accounts/open/alpha/"
    opened = client.get(response["Location"], HTTP_HOST=ROOT)
    assert opened["Location"].startswith("http://alpha.localhost:8000/accounts/handoff/?token=")


def test_the_tenant_they_own_comes_before_older_memberships(client, team, make_user):
    person = make_user("gina@example.com")
    Membership.objects.create(tenant=team.alpha, user=person, role=Role.MEMBER)  # first
    own = tenant_create(name="Gina's", slug="gina", owner=person)
    client.force_login(person)
    assert client.get("/", HTTP_HOST=ROOT)["Location"] == f"/accounts/open/{own.slug}/"
    own.status = TenantStatus.DELETED
    own.save()
    assert client.get("/", HTTP_HOST=ROOT)["Location"] == "/accounts/open/alpha/"


def test_members_without_a_tenant_of_their_own_go_to_their_first(client, team):
    client.force_login(team.viewer)
    assert client.get("/", HTTP_HOST=ROOT)["Location"] == "/accounts/open/alpha/"


def test_operators_without_a_tenant_go_to_the_operator_console(client, team):
    client.force_login(team.operator)
    assert client.get("/", HTTP_HOST=ROOT)["Location"] == "/admin/"


def test_people_without_any_tenant_go_to_their_account_page(client, team):
    client.force_login(team.outsider)
    assert client.get("/", HTTP_HOST=ROOT)["Location"] == "/accounts/"


def test_a_tenant_hosts_root_leads_to_its_console(client, team):
    anonymous = client.get("/", HTTP_HOST="alpha.localhost")
    assert anonymous.status_code == 302
    assert anonymous["Location"] == "/accounts/login/?next=%2Fconsole%2F"
    client.force_login(team.member)
    assert client.get("/", HTTP_HOST="alpha.localhost")["Location"] == "/console/"
    # The console then answers as it does: a member gets it, an outsider 404.
    assert client.get("/console/", HTTP_HOST="alpha.localhost").status_code == 200
    client.force_login(team.outsider)
    assert client.get("/console/", HTTP_HOST="alpha.localhost").status_code == 404


def test_only_get_and_head(client, world):
    assert client.post("/", HTTP_HOST=ROOT).status_code == 405
