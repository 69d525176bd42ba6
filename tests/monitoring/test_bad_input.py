"""Client mistakes on the monitoring, alerting and status-page APIs answer a 400 problem,
never a 500: NUL characters in filters and path segments (PostgreSQL text cannot hold them),
filter values outside their enum, integers past their column, status codes in non-ASCII digits,
URLs urlsplit() cannot parse. Years before 1000 keep four digits in answers and headers."""

from __future__ import annotations

import pytest

from tests.assertions import BAD_URLS, assert_problem
from tests.monitoring.factories import create

TARGET = "http://127.0.0.1:9/"


@pytest.fixture
def alice(client_for, world):
    return client_for(world["alice"], world["tenant_a"])


# --- NUL characters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/monitors?kind=%00", "kind"),
        ("/api/v1/monitors?status=%00", "status"),
        ("/api/v1/monitors?q=web%00", "q"),
        ("/api/v1/incidents?status=%00", "status"),
        ("/api/v1/alert-logs?event=%00", "event"),
        ("/api/v1/status-pages?q=%00", "q"),
        ("/api/v1/monitors/%00", "pk"),
    ],
)
def test_a_nul_in_a_filter_or_id_is_a_400_naming_it(alice, path, field):
    errors = assert_problem(alice.get(path), field)
    assert errors[0]["code"] == "null_characters_not_allowed"


def test_every_parameter_holding_a_nul_is_named(alice):
    assert_problem(alice.get("/api/v1/monitors?q=%00&kind=http&status=up%00"), "q", "status")


# --- Enum-like filters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field", "allowed"),
    [
        ("/api/v1/monitors?kind=ftp", "kind", "http, tcp, tls, heartbeat"),
        ("/api/v1/monitors?status=sideways", "status", "pending, up, down, paused"),
        ("/api/v1/incidents?status=closed", "status", "open, resolved"),
        ("/api/v1/alert-logs?event=monitor.sideways", "event", "monitor.down, monitor.up"),
    ],
)
def test_an_unknown_enum_filter_value_is_a_400_naming_the_choices(alice, path, field, allowed):
    errors = assert_problem(alice.get(path), field)
    assert allowed in errors[0]["message"]


def test_known_enum_filter_values_still_filter(alice, world):
    create(world["tenant_a"], kind="http", name="web", url=TARGET)
    assert len(alice.get("/api/v1/monitors?kind=http&status=pending").json()["results"]) == 1
    assert alice.get("/api/v1/monitors?kind=tcp").json()["results"] == []
    assert alice.get("/api/v1/incidents?status=open").status_code == 200
    assert alice.get("/api/v1/alert-logs?event=alert.test").status_code == 200


# --- Monitors: integers, status codes, URLs --------------------------------------------------


def test_max_response_ms_past_the_column_is_a_400_on_create_and_patch(alice, world):
    response = alice.post(
        "/api/v1/monitors",
        {"name": "web", "kind": "http", "http": {"url": TARGET, "max_response_ms": 2**31}},
    )
    assert_problem(response, "http.max_response_ms")
    monitor = create(world["tenant_a"], kind="http", name="web", url=TARGET)
    response = alice.patch(f"/api/v1/monitors/{monitor.pk}", {"http": {"max_response_ms": 2**40}})
    assert_problem(response, "http.max_response_ms")
    response = alice.patch(f"/api/v1/monitors/{monitor.pk}", {"http": {"max_response_ms": 60000}})
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("item", ["²00", "\uff12\uff10\uff10", "200-", "20", "2xx", "600"])
def test_an_expected_status_that_is_not_ascii_digits_is_a_400(alice, world, item):
    response = alice.post(
        "/api/v1/monitors",
        {"name": "web", "kind": "http", "http": {"url": TARGET, "expected_status": [item]}},
    )
    assert_problem(response, "expected_status")
    monitor = create(world["tenant_a"], kind="http", name="web", url=TARGET)
    response = alice.patch(
        f"/api/v1/monitors/{monitor.pk}", {"http": {"expected_status": ["200-299", item]}}
    )
    assert_problem(response, "expected_status")


def test_expected_status_codes_and_ranges_are_still_accepted(alice):
    response = alice.post(
        "/api/v1/monitors",
        {"name": "web", "kind": "http",
         "http": {"url": TARGET, "expected_status": ["200-299", "301", 404]}},
    )  # fmt: skip
    assert response.status_code == 201, response.content
    assert response.json()["http"]["expected_status"] == ["200-299", "301", "404"]


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_monitor_url_urlsplit_cannot_parse_is_a_400(alice, world, url):
    response = alice.post("/api/v1/monitors", {"name": "web", "kind": "http", "http": {"url": url}})
    assert_problem(response, "url")
    monitor = create(world["tenant_a"], kind="http", name="web", url=TARGET)
    assert_problem(alice.patch(f"/api/v1/monitors/{monitor.pk}", {"http": {"url": url}}), "url")


# --- Alert channels and webhook endpoints: URLs ----------------------------------------------


@pytest.mark.parametrize("url", BAD_URLS)
def test_an_alert_channel_url_urlsplit_cannot_parse_is_a_400(alice, url):
    response = alice.post(
        "/api/v1/alert-channels", {"name": "hook", "kind": "webhook", "config": {"url": url}}
    )
    assert_problem(response, "config.url")
    created = alice.post(
        "/api/v1/alert-channels",
        {"name": "hook", "kind": "slack", "config": {"url": "https://hooks.example.com/x"}},
    )
    assert created.status_code == 201, created.content
    response = alice.patch(
        f"/api/v1/alert-channels/{created.json()['id']}", {"config": {"url": url}}
    )
    assert_problem(response, "config.url")


# --- Timestamps ------------------------------------------------------------------------------


def test_a_maintenance_window_in_the_year_1_keeps_four_digit_years(alice):
    response = alice.post(
        "/api/v1/maintenance-windows",
        {"name": "old", "starts_at": "0001-01-01T00:00:00Z", "ends_at": "0999-01-02T00:00:00Z"},
    )
    assert response.status_code == 201, response.content
    assert response.json()["starts_at"] == "0001-01-01T00:00:00.000000Z"
    assert response.json()["ends_at"] == "0999-01-02T00:00:00.000000Z"
