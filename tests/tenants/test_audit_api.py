"""/api/v1/audit-events (a tenant's owner and admins) and /api/v1/admin/audit-events
(operators): filters, cursor pages, tenant isolation, roles, query counts."""

from __future__ import annotations

import datetime as dt
import uuid
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.services import api_key_create
from apps.core.audit import audit_record
from apps.core.models import AuditEvent

from .factories import caller

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def record(*, at: dt.datetime | None = None, **fields) -> AuditEvent:
    """An audit event written by the real audit_record, at a chosen time."""
    if at is None:
        return audit_record(**fields)
    with mock.patch("django.utils.timezone.now", return_value=at):
        return audit_record(**fields)


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def events(team):
    """A small, varied log in alpha, one event in bravo, one of no tenant."""
    key, _ = api_key_create(tenant=team.alpha, name="ci", authority="member")
    made = {
        "invited": record(
            action="qa.member.invited", actor=team.owner, tenant=team.alpha,
            target_type="tenants.invitation", target_id="inv-1", at=T0,
        ),
        "role": record(
            action="qa.member.role_changed", actor=team.admin, tenant=team.alpha,
            target=team.memberships["member"], severity="warning",
            at=T0 + dt.timedelta(hours=1),
        ),
        "deploy": record(
            action="qa.deployment.started", actor=team.owner, api_key=key, tenant=team.alpha,
            target_type="deploy.app", target_id="app-42", at=T0 + dt.timedelta(hours=2),
        ),
        "suspend": record(
            action="qa.tenant.suspended", tenant=team.alpha, severity="critical",
            metadata={"reason": "unpaid"}, at=T0 + dt.timedelta(hours=3),
        ),
        "bravo": record(
            action="qa.member.invited", actor=team.bob, tenant=team.bravo,
            target_type="tenants.invitation", target_id="inv-9", at=T0 + dt.timedelta(hours=1),
        ),
        "platform": record(
            action="qa.config.updated", actor=team.operator, severity="warning",
            at=T0 + dt.timedelta(hours=4),
        ),
    }  # fmt: skip
    made["key"] = key
    return made


def test_admin_lists_only_their_tenants_events_newest_first(client_for, team, events):
    response = client_for(team.admin, team.alpha).get("/api/v1/audit-events", {"action": "qa.*"})
    assert ids(response) == [
        str(events[name].pk) for name in ("suspend", "deploy", "role", "invited")
    ]
    everything = client_for(team.owner, team.alpha).get("/api/v1/audit-events").json()
    assert {row["tenant"]["id"] for row in everything["results"]} == {str(team.alpha.pk)}
    assert str(events["bravo"].pk) not in {row["id"] for row in everything["results"]}


def test_event_shape(client_for, team, events):
    client = client_for(team.owner, team.alpha)
    row = client.get(f"/api/v1/audit-events/{events['deploy'].pk}").json()
    assert row["action"] == "qa.deployment.started"
    assert row["severity"] == "info"
    assert row["actor"] == {
        "type": "api_key", "id": str(events["key"].pk), "label": str(events["key"]),
    }  # fmt: skip
    assert row["tenant"] == {"id": str(team.alpha.pk), "slug": "alpha"}
    assert row["target"] == {"type": "deploy.app", "id": "app-42"}
    assert row["created_at"] == "2026-11-20T14:00:00.000000Z"
    assert set(row) == {
        "id", "created_at", "action", "severity", "actor", "tenant", "target", "ip_address",
        "user_agent", "request_id", "metadata",
    }  # fmt: skip
    system = client.get(f"/api/v1/audit-events/{events['suspend'].pk}").json()
    assert system["actor"] == {"type": "system", "id": None, "label": ""}
    assert system["metadata"] == {"reason": "unpaid"}
    role = client.get(f"/api/v1/audit-events/{events['role'].pk}").json()
    assert role["actor"]["type"] == "user" and role["actor"]["label"] == "dave@example.com"


def test_another_tenants_event_is_404(client_for, team, events):
    client = client_for(team.owner, team.alpha)
    for event_id in (events["bravo"].pk, events["platform"].pk, uuid.uuid4(), "not-a-uuid"):
        response = client.get(f"/api/v1/audit-events/{event_id}")
        assert response.status_code == 404, event_id
        assert response.json()["type"] == "/problems/not-found"
    # Bob, bravo's owner, sees his own event but not alpha's.
    bob = client_for(team.bob, team.bravo)
    assert bob.get(f"/api/v1/audit-events/{events['bravo'].pk}").status_code == 200
    assert bob.get(f"/api/v1/audit-events/{events['invited'].pk}").status_code == 404
    assert str(events["invited"].pk) not in ids(bob.get("/api/v1/audit-events"))


@pytest.mark.parametrize(
    ("who", "status"),
    [("owner", 200), ("admin", 200), ("member", 403), ("viewer", 403), ("outsider", 404),
     ("operator", 200)],
)  # fmt: skip
def test_roles(client_for, team, events, who, status):
    client = client_for(caller(team, who), team.alpha)
    for path in ("/api/v1/audit-events", f"/api/v1/audit-events/{events['invited'].pk}"):
        response = client.get(path)
        assert response.status_code == status, (path, response.content)
        if status == 403:
            assert response.json()["type"] == "/problems/permission-denied"


def test_tenant_endpoint_needs_a_tenant_and_a_key_needs_admin_authority(
    client_for, team, api_client
):
    response = client_for(team.owner).get("/api/v1/audit-events")
    assert response.status_code == 404
    _, admin_raw = api_key_create(tenant=team.alpha, name="admin", authority="admin")
    _, member_raw = api_key_create(tenant=team.alpha, name="member", authority="member")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {admin_raw}", HTTP_X_TENANT_ID="alpha")
    assert api_client.get("/api/v1/audit-events").status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {member_raw}", HTTP_X_TENANT_ID="alpha")
    assert api_client.get("/api/v1/audit-events").status_code == 403


def test_filters(client_for, team, events):
    client = client_for(team.owner, team.alpha)

    def names(**params) -> set[str]:
        got = set(ids(client.get("/api/v1/audit-events", {"action": "qa.*", **params})))
        return {name for name, event in events.items() if str(event.pk) in got}

    assert names(actor=str(team.owner.pk)) == {"invited", "deploy"}
    assert names(actor="ALICE@example.com") == {"invited", "deploy"}
    assert names(actor="dave@example.com") == {"role"}
    assert names(actor_api_key=str(events["key"].pk)) == {"deploy"}
    assert names(action="qa.member.invited") == {"invited"}
    assert set(ids(client.get("/api/v1/audit-events", {"action": "qa.member.*"}))) == {
        str(events["invited"].pk),
        str(events["role"].pk),
    }
    assert names(target_type="tenants.invitation") == {"invited"}
    assert names(target_id="app-42") == {"deploy"}
    assert names(
        target_type="tenants.membership", target_id=str(team.memberships["member"].pk)
    ) == {"role"}
    assert names(since="2026-11-20T13:00:00Z") == {"role", "deploy", "suspend"}
    assert names(until="2026-11-20T13:00:00Z") == {"invited"}
    assert names(since="2026-11-20T13:30:00+00:00", until="2026-11-20T15:00:00Z") == {"deploy"}
    assert names(severity="critical") == {"suspend"}
    assert names(severity="warning,critical") == {"role", "suspend"}
    assert names(q="DEPLOYMENT") == {"deploy"}
    assert names(q="inv-1") == {"invited"}  # target id
    assert names(q="dave@") == {"role"}  # actor label
    assert names(q="alph") == {"invited", "role", "deploy", "suspend"}  # tenant slug
    assert names(q="nothing-like-this") == set()


@pytest.mark.parametrize(
    "params",
    [
        {"since": "yesterday"},
        {"until": "2026-13-45T00:00:00Z"},
        {"since": "2026-11-21T00:00:00Z", "until": "2026-11-20T00:00:00Z"},
        {"severity": "loud"},
        {"severity": "info,bogus"},
        {"action": "qa*member"},
        {"actor": "not-an-email"},
        {"actor_api_key": "nope"},
    ],
)
def test_malformed_filters_are_400(client_for, team, params):
    response = client_for(team.owner, team.alpha).get("/api/v1/audit-events", params)
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "/problems/validation-error"
    assert {error["field"] for error in body["errors"]} <= set(params)


def test_pages_follow_each_other_without_duplicates_or_gaps(client_for, team):
    """Seven events, four of them recorded at the same instant: three-row pages walk them all
    once, in (created_at, id) order newest first."""
    made = [record(action="qa.page", tenant=team.alpha, at=T0) for _ in range(4)]
    made += [
        record(action="qa.page", tenant=team.alpha, at=T0 + dt.timedelta(seconds=s))
        for s in (1, 2, 3)
    ]
    expected = [str(e.pk) for e in sorted(made, key=lambda e: (e.created_at, e.pk), reverse=True)]
    client = client_for(team.owner, team.alpha)
    seen: list[str] = []
    url = "/api/v1/audit-events?action=qa.page&page_size=3"
    pages = 0
    while url:
        body = client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
        pages += 1
    assert pages == 3
    assert seen == expected


def test_list_costs_the_same_queries_for_5_or_50_events(client_for, team):
    client = client_for(team.owner, team.alpha)

    def measure() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/v1/audit-events", {"action": "qa.n.*", "page_size": 100})
        return len(ids(response)), len(queries)

    for index in range(5):
        record(action="qa.n.one", actor=team.owner, tenant=team.alpha, target_id=str(index))
    client.get("/api/v1/audit-events")  # warm caches
    rows_few, queries_few = measure()
    for index in range(45):
        record(action="qa.n.two", actor=team.admin, tenant=team.alpha, target_id=str(index))
    rows_many, queries_many = measure()
    assert (rows_few, rows_many) == (5, 50)
    assert queries_many == queries_few


# --- Operators ------------------------------------------------------------------------------


def test_operator_sees_every_tenant_and_filters_by_tenant(client_for, team, events):
    client = client_for(team.operator)
    everything = set(ids(client.get("/api/v1/admin/audit-events", {"action": "qa.*"})))
    assert {str(e.pk) for name, e in events.items() if name != "key"} == everything
    bravo = {str(events["bravo"].pk)}
    assert (
        set(ids(client.get("/api/v1/admin/audit-events", {"action": "qa.*", "tenant": "bravo"})))
        == bravo
    )
    by_id = {"action": "qa.*", "tenant": str(team.bravo.pk)}
    assert set(ids(client.get("/api/v1/admin/audit-events", by_id))) == bravo
    assert ids(client.get("/api/v1/admin/audit-events", {"tenant": "no-such-tenant"})) == []
    platform = client.get(f"/api/v1/admin/audit-events/{events['platform'].pk}").json()
    assert platform["tenant"] is None and platform["actor"]["label"] == "operator@example.com"
    assert client.get(f"/api/v1/admin/audit-events/{events['bravo'].pk}").status_code == 200
    assert client.get(f"/api/v1/admin/audit-events/{uuid.uuid4()}").status_code == 404
    response = client.get("/api/v1/admin/audit-events", {"since": "soon"})
    assert response.status_code == 400


def test_operator_filters_combine(client_for, team, events):
    client = client_for(team.operator)
    params = {"action": "qa.member.invited", "severity": "info", "q": "bravo"}
    got = ids(client.get("/api/v1/admin/audit-events", params))
    assert got == [str(events["bravo"].pk)]


@pytest.mark.parametrize("who", ["owner", "admin", "outsider"])
def test_non_staff_get_403_from_the_operator_endpoint(client_for, team, events, who):
    user = caller(team, who)
    for path in (
        "/api/v1/admin/audit-events",
        f"/api/v1/admin/audit-events/{events['invited'].pk}",
    ):
        response = client_for(user).get(path)
        assert response.status_code == 403
        assert response.json()["type"] == "/problems/permission-denied"


def test_unauthenticated_callers_learn_nothing(api_client, team):
    assert api_client.get("/api/v1/admin/audit-events").status_code == 401
    response = api_client.get("/api/v1/audit-events", HTTP_X_TENANT_ID="alpha")
    assert response.status_code == 404  # as for any tenant route: no hint the tenant exists
