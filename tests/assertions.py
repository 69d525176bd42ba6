"""Assertions and inputs that tests of several domains share (no fixtures here)."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

# URLs that no outbound-URL field may accept: a broken IPv6 literal, brackets around a name, a
# port out of range.
BAD_URLS = ["http://[::1/", "https://[example.com]/x", "http://example.com:99999/"]


def assert_problem(response, *fields: str) -> list[dict]:
    """`response` is a 400 validation-error problem naming exactly `fields` (when given);
    returns its errors."""
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/validation-error"
    assert body["status"] == 400
    if fields:
        assert [error["field"] for error in body["errors"]] == list(fields)
    return body.get("errors", [])


def counted_get(client, path: str) -> tuple[int, dict]:
    """GET `path` (200 expected): the number of queries it cost and the JSON body."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, response.content
    return len(queries), response.json()
