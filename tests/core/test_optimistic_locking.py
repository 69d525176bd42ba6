"""Optimistic locking (apps/core/versioning.py, docs/api.md): every edited object carries a
`version` (also its ETag); a write naming an old version (If-Match or a body `version`) is 409
`version-conflict` and nothing of it is applied; without a precondition the write proceeds.
Two clients read the same version; the first write wins, the second is refused.

The interleaving is sequential here (the test runs in one transaction); the service's
`SELECT … FOR UPDATE` + conditional `UPDATE … WHERE version = n` is what makes the same true of
writes in the same instant."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from apps.billing import services as billing_services
from apps.billing.models import Plan
from apps.core.actor import SYSTEM
from apps.core.models import AuditEvent
from apps.core.versioning import VersionConflict, parse_etag
from apps.monitoring import services as monitoring_services
from apps.monitoring.models import StatusPage
from apps.tenants.models import Membership, Role
from apps.webhooks import services as webhook_services
from apps.webhooks.models import WebhookEndpoint
from tests.monitoring.factories import create, in_tenant, make_page
from tests.webhooks.webhook_support import endpoint_create

pytestmark = pytest.mark.django_db

SLACK_URL = "https://hooks.slack.com/services/T000/B000/sEcReTtOkEnXy9z"


@dataclass
class Case:
    path: str  # the collection
    make: object  # (tenant, client) -> id
    field: str
    first: object
    second: object


def _app(tenant, client):
    response = client.post("/api/v1/apps", {"name": "shop"}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def _monitor(tenant, client):
    return create(tenant, kind="http", name="Website", url="https://example.com/").pk


def _channel(tenant, client):
    response = client.post(
        "/api/v1/alert-channels",
        {"name": "#ops", "kind": "slack", "config": {"url": SLACK_URL}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def _page(tenant, client):
    return make_page(tenant, slug="alpha-locking").pk


def _endpoint(tenant, client):
    endpoint, _secret = endpoint_create(tenant, "https://hooks.example.com/quay")
    return endpoint.pk


CASES = {
    "app": Case("/api/v1/apps", _app, "branch", "release", "hotfix"),
    "monitor": Case("/api/v1/monitors", _monitor, "name", "Site (A)", "Site (B)"),
    "alert-channel": Case("/api/v1/alert-channels", _channel, "name", "#ops-a", "#ops-b"),
    "status-page": Case("/api/v1/status-pages", _page, "title", "Status A", "Status B"),
    "webhook-endpoint": Case("/api/v1/webhook-endpoints", _endpoint, "description", "by A", "by B"),
}


@pytest.fixture
def two(client_for, world):
    """Two clients of tenant alpha's owner (two browser tabs, a script and a person)."""
    return client_for(world["alice"], world["tenant_a"]), client_for(
        world["alice"], world["tenant_a"]
    )


@pytest.mark.parametrize("kind", list(CASES))
def test_two_writers_read_the_same_version_the_second_gets_409(kind, two, world):
    case = CASES[kind]
    a, b = two
    pk = case.make(world["tenant_a"], a)
    url = f"{case.path}/{pk}"

    read_a, read_b = a.get(url), b.get(url)
    assert read_a.status_code == 200
    assert read_a.json()["version"] == read_b.json()["version"] == 1
    assert read_a["ETag"] == '"1"'

    won = a.patch(url, {case.field: case.first}, format="json", HTTP_IF_MATCH=read_a["ETag"])
    assert won.status_code == 200, won.json()
    assert won.json()["version"] == 2 and won["ETag"] == '"2"'

    lost = b.patch(url, {case.field: case.second}, format="json", HTTP_IF_MATCH=read_b["ETag"])
    assert lost.status_code == 409
    problem = lost.json()
    assert problem["type"] == "/problems/version-conflict"
    assert problem["current_version"] == 2
    assert lost["Content-Type"] == "application/problem+json"
    after = a.get(url).json()
    assert after[case.field] == case.first and after["version"] == 2  # nothing of B's write

    # The body's `version` works as If-Match does.
    stale_body = b.patch(url, {case.field: case.second, "version": 1}, format="json")
    assert stale_body.status_code == 409
    fresh_body = b.patch(url, {case.field: case.second, "version": 2}, format="json")
    assert fresh_body.status_code == 200 and fresh_body.json()["version"] == 3

    # No precondition: the write proceeds (and still moves the version).
    blind = a.patch(url, {case.field: case.first}, format="json")
    assert blind.status_code == 200 and blind.json()["version"] == 4

    # A delete naming an old version is refused; with the current one it goes.
    assert b.delete(url, HTTP_IF_MATCH='"3"').status_code == 409
    assert b.delete(url, {"version": 3}, format="json").status_code == 409
    assert a.get(url).status_code == 200
    assert b.delete(url, HTTP_IF_MATCH='W/"4"').status_code == 204
    assert a.get(url).status_code == 404


def test_a_refused_write_is_not_audited_and_bad_preconditions_are_400(two, world):
    a, _ = two
    pk = _channel(world["tenant_a"], a)
    url = f"/api/v1/alert-channels/{pk}"
    a.patch(url, {"name": "x"}, format="json", HTTP_IF_MATCH='"1"')
    with in_tenant(world["tenant_a"]):
        updated = AuditEvent.objects.filter(action="alert_channel.updated").count()
    assert a.patch(url, {"name": "y"}, format="json", HTTP_IF_MATCH='"1"').status_code == 409
    assert AuditEvent.objects.filter(action="alert_channel.updated").count() == updated

    garbled = a.patch(url, {"name": "y"}, format="json", HTTP_IF_MATCH="yesterday")
    assert garbled.status_code == 400 and garbled.json()["errors"][0]["field"] == "If-Match"
    both = a.patch(url, {"name": "y", "version": 5}, format="json", HTTP_IF_MATCH='"2"')
    assert both.status_code == 400
    star = a.patch(url, {"name": "z"}, format="json", HTTP_IF_MATCH="*")
    assert star.status_code == 200 and star.json()["version"] == 3
    for odd in ("²", "٣", "1" * 30, "-1", "3.0"):  # digits Python's int() refuses, or not ours
        answer = a.patch(url, {"name": "w", "version": odd}, format="json")
        assert answer.status_code == 400, (odd, answer.status_code)


def test_an_edit_keeps_what_another_writer_changed_meanwhile(world):
    """A service reads its object again under the row lock: an edit made from a copy read
    earlier does not write back the fields the platform changed in between."""
    tenant = world["tenant_a"]
    pk = create(tenant, kind="http", name="Website", url="https://example.com/").pk
    with in_tenant(tenant):
        from apps.monitoring.models import Monitor

        stale = Monitor.objects.get(pk=pk)  # the view's copy
        Monitor.objects.filter(pk=pk).update(last_error="Status 503, expected 200-299.")
        monitoring_services.monitor_update(
            monitor=stale, tenant=tenant, actor=SYSTEM, name="Storefront"
        )
        fresh = Monitor.objects.get(pk=pk)
    assert fresh.name == "Storefront" and fresh.last_error == "Status 503, expected 200-299."


def test_etags_parse():
    assert parse_etag('"7"') == parse_etag('W/"7"') == parse_etag("7") == 7
    assert parse_etag("") is None and parse_etag("*") is None


def test_a_viewer_with_the_right_version_is_still_refused(
    two, world, client_for, django_user_model
):
    a, _ = two
    pk = _channel(world["tenant_a"], a)
    user = django_user_model.objects.create_user(username="v@example.com", email="v@example.com")
    Membership.objects.create(tenant=world["tenant_a"], user=user, role=Role.VIEWER)
    viewer = client_for(user, world["tenant_a"])
    url = f"/api/v1/alert-channels/{pk}"
    assert viewer.get(url)["ETag"] == '"1"'
    assert viewer.patch(url, {"name": "v"}, format="json", HTTP_IF_MATCH='"1"').status_code == 403
    # Another tenant's object stays a 404, precondition or not.
    outsider = client_for(world["bob"], world["tenant_b"])
    assert outsider.patch(url, {"name": "o"}, format="json", HTTP_IF_MATCH='"1"').status_code == 404


def test_the_schema_declares_if_match_and_etag(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in ("/api/v1/apps/{id}/", "/api/v1/monitors/{id}/", "/api/v1/webhook-endpoints/{id}/",
                 "/api/v1/alert-channels/{id}/", "/api/v1/status-pages/{id}/"):  # fmt: skip
        item = schema["paths"][path]
        for method in ("patch", "delete"):
            names = {p["name"] for p in item[method]["parameters"]}
            assert "If-Match" in names, (path, method)
            assert "version-conflict" in item[method]["responses"]["409"]["description"]
        for method in ("get", "patch"):
            assert "ETag" in item[method]["responses"]["200"]["headers"], (path, method)


# --- The consoles: a stale save is refused with a message -------------------------------------

HOST = "alpha.localhost"


def test_console_refuses_a_stale_status_page_save(client, world):
    tenant = world["tenant_a"]
    page = make_page(tenant, slug="alpha-stale")
    client.force_login(world["alice"])
    url = f"/console/monitoring/statuspage/{page.pk}/change/"
    opened = client.get(url, HTTP_HOST=HOST)
    assert opened.status_code == 200
    assert 'name="expected_version"' in opened.content.decode()
    form = {"slug": "alpha-stale", "title": "Mine", "description": "", "announcement": "",
            "public": "on", "monitor_ids": [], "expected_version": 1}  # fmt: skip
    with in_tenant(tenant):
        monitoring_services.status_page_update(
            page=page, tenant=tenant, actor=SYSTEM, title="Theirs"
        )  # someone else saves first
    response = client.post(url, form, HTTP_HOST=HOST)
    assert response.status_code == 200  # the form again, with the message
    assert "Someone else changed this status page" in response.content.decode()
    with in_tenant(tenant):
        assert StatusPage.objects.get(pk=page.pk).title == "Theirs"
    fresh = client.post(url, {**form, "expected_version": 2}, HTTP_HOST=HOST)
    assert fresh.status_code == 302
    with in_tenant(tenant):
        assert StatusPage.objects.get(pk=page.pk).title == "Mine"


def test_console_refuses_a_stale_webhook_endpoint_save(client, world):
    tenant = world["tenant_a"]
    endpoint, _ = endpoint_create(tenant, "https://hooks.example.com/a")
    client.force_login(world["alice"])
    url = f"/console/webhooks/webhookendpoint/{endpoint.pk}/change/"
    form = {"url": "https://hooks.example.com/b", "description": "", "event_types": "",
            "enabled": "on", "expected_version": 1}  # fmt: skip
    with in_tenant(tenant):
        webhook_services.webhook_endpoint_update(
            endpoint=endpoint, tenant=tenant, actor=SYSTEM, description="theirs"
        )
    response = client.post(url, form, HTTP_HOST=HOST)
    assert "Someone else changed this" in response.content.decode()
    with in_tenant(tenant):
        assert WebhookEndpoint.objects.get(pk=endpoint.pk).url == "https://hooks.example.com/a"


def test_the_service_settles_a_save_in_the_same_instant():
    """The form's check passed, but another save landed before ours: the service refuses."""
    plan = billing_services.plan_save(plan=Plan(name="Lock", slug="lock"))
    mine = Plan.objects.get(pk=plan.pk)
    theirs = Plan.objects.get(pk=plan.pk)
    theirs.description = "theirs"
    billing_services.plan_save(plan=theirs, expected_version=1)
    mine.description = "mine"
    with pytest.raises(VersionConflict):
        billing_services.plan_save(plan=mine, expected_version=1)
    assert Plan.objects.get(pk=plan.pk).description == "theirs"


def test_admin_refuses_a_stale_plan_save(client, world, django_user_model):
    operator = django_user_model.objects.create_superuser(
        username="root@example.com", email="root@example.com", password="pw"
    )
    client.force_login(operator)
    plan = billing_services.plan_save(plan=Plan(name="Team", slug="team", monthly_price_cents=900))
    url = f"/admin/billing/plan/{plan.pk}/change/"
    assert 'name="expected_version"' in client.get(url).content.decode()
    form = {"name": "Team", "slug": "team", "description": "mine", "sort_order": 1,
            "is_public": "on", "monthly_price_cents": 900, "currency": "usd",
            "annual_discount_pct": 0, "credits_per_month": 0, "credit_reset_policy": "accrue",
            "bonus_credits": 0, "expected_version": 1}  # fmt: skip
    theirs = Plan.objects.get(pk=plan.pk)
    theirs.description = "theirs"
    billing_services.plan_save(plan=theirs)
    response = client.post(url, form)
    assert response.status_code == 200
    assert "Someone else changed this plan" in response.content.decode()
    assert Plan.objects.get(pk=plan.pk).description == "theirs"
    ok = client.post(url, {**form, "expected_version": 2})
    assert ok.status_code == 302, ok.content.decode()[:2000]
    assert Plan.objects.get(pk=plan.pk).description == "mine"
