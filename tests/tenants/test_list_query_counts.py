"""/api/v1/admin/audit-events (operators) costs the same number of queries with a few events as
with many, of many actors, API keys and tenants; whole, and narrowed to one tenant by slug or
by id. (The tenant's own /api/v1/audit-events is measured in test_audit_api.py.)"""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.services import api_key_create
from apps.core.audit import audit_record

LIST = "/api/v1/admin/audit-events"


def _count(client, params: dict) -> tuple[int, list]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST, {"action": "qc.*", "page_size": 200, **params})
    assert response.status_code == 200, response.content
    return len(queries), response.json()["results"]


def _record(start: int, n: int, team) -> None:
    """`n` events by turns of a user in alpha, an API key of alpha, a user in bravo and
    nobody in no tenant, each with its own target."""
    key, _ = api_key_create(tenant=team.alpha, name=f"qc-{start}", authority="member")
    people = (team.owner, team.admin, team.member, team.viewer)
    for i in range(start, start + n):
        kind = i % 4
        audit_record(
            action=f"qc.thing.done_{kind}",
            actor=people[i % len(people)] if kind in (0, 1) else team.bob if kind == 2 else None,
            api_key=key if kind == 1 else None,
            tenant=team.alpha if kind in (0, 1) else team.bravo if kind == 2 else None,
            target_type="qc.thing",
            target_id=str(i),
            metadata={"i": i},
        )


def test_admin_audit_events(client_for, team):
    client = client_for(team.operator)
    client.get(LIST)  # the hourly "operator entry" audit row is written now
    _record(0, 4, team)
    filters = {"all": {}, "slug": {"tenant": "alpha"}, "id": {"tenant": str(team.alpha.pk)}}
    few = {}
    for name, params in filters.items():
        few[name], rows = _count(client, params)
        assert len(rows) == (4 if name == "all" else 2)
    _record(4, 76, team)
    for name, params in filters.items():
        many, rows = _count(client, params)
        assert len(rows) == (80 if name == "all" else 40)
        assert many == few[name], name
    assert {row["actor"]["type"] for row in rows} == {"user", "api_key"}
