"""HTTP checks against a real local server: status, keyword, JSON condition, time limit."""

import pytest

from tests.monitoring.factories import check_once, create, in_tenant

CASES = [
    ("/ok", {}, "up"),
    ("/status/503", {}, "down"),
    ("/status/503", {"expected_status": ["500-599"]}, "up"),
    ("/status/301", {"expected_status": ["200", "301"]}, "up"),
    ("/redirect", {}, "up"),
    ("/redirect", {"follow_redirects": False}, "down"),
    ("/ok", {"keyword": "systems go"}, "up"),
    ("/ok", {"keyword": "systems down"}, "down"),
    ("/ok", {"keyword": "error", "keyword_mode": "absent"}, "up"),
    ("/ok", {"keyword": "hello", "keyword_mode": "absent"}, "down"),
    ("/json", {"json_path": "status", "json_value": "ok"}, "up"),
    ("/json", {"json_path": "items.0.state", "json_value": "green"}, "up"),
    ("/json", {"json_path": "items.0.state", "json_value": "red"}, "down"),
    ("/json", {"json_path": "count", "json_operator": "gt", "json_value": "2"}, "up"),
    ("/json", {"json_path": "count", "json_operator": "lt", "json_value": "2"}, "down"),
    ("/json", {"json_path": "ready", "json_value": "true"}, "up"),
    ("/json", {"json_path": "missing", "json_operator": "exists"}, "down"),
    ("/ok", {"json_path": "status", "json_value": "ok"}, "down"),  # not JSON
    ("/slow", {"max_response_ms": 100}, "down"),
    ("/slow", {"max_response_ms": 5000}, "up"),
]


@pytest.mark.parametrize(("path", "options", "expected"), CASES)
def test_http_condition(world, http_target, path, options, expected):
    tenant = world["tenant_a"]
    monitor = create(tenant, kind="http", name="t", url=http_target.url + path, **options)
    monitor = check_once(tenant, monitor)
    assert monitor.status == expected, monitor.last_error
    with in_tenant(tenant):
        result = monitor.results.get()
    assert result.ok is (expected == "up")
    assert result.lag_ms is not None and result.lag_ms >= 0
    if expected == "down":
        assert result.error


def test_status_code_and_response_time_are_recorded(world, http_target):
    tenant = world["tenant_a"]
    monitor = check_once(tenant, create(tenant, kind="http", name="t",
                                        url=http_target.url + "/status/503"))  # fmt: skip
    with in_tenant(tenant):
        result = monitor.results.get()
    assert result.status_code == 503
    assert result.response_ms is not None
    assert "503" in monitor.last_error


def test_connection_refused_is_down(world):
    tenant = world["tenant_a"]
    monitor = check_once(tenant, create(tenant, kind="http", name="t", url="http://127.0.0.1:9/"))
    assert monitor.status == "down"
    assert monitor.last_error
