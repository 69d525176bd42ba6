"""Client mistakes the core answers with a 400, never a 500: a NUL character (`%00`) anywhere in
the path or query string (RejectNulMiddleware: problem details on the API, Django's plain 400 on
pages), and config variable values PostgreSQL or float() cannot take. API timestamps keep
four-digit years."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache

from apps.core import platform_config
from apps.core.models import ConfigVariable
from apps.core.platform_config import config_set
from apps.core.problems import InvalidInput
from apps.core.timestamps import api_time

pytestmark = pytest.mark.django_db

CONFIG_URL = "/api/v1/admin/config-variables"


@pytest.fixture(autouse=True)
def _cold_config_cache():
    cache.delete(platform_config.CACHE_KEY)
    yield
    cache.delete(platform_config.CACHE_KEY)


def assert_problem(response, *fields: str) -> list[dict]:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/validation-error"
    assert body["status"] == 400
    assert body["request_id"] == response["X-Request-ID"]
    assert [error["field"] for error in body["errors"]] == list(fields)
    return body["errors"]


# --- NUL characters --------------------------------------------------------------------------


def test_a_nul_config_variable_name_is_a_400(client_for, world):
    response = client_for(world["operator"]).get(f"{CONFIG_URL}/%00")
    errors = assert_problem(response, "name")
    assert errors[0]["code"] == "null_characters_not_allowed"
    response = client_for(world["operator"]).patch(f"{CONFIG_URL}/a%00b", {"value": 1})
    assert_problem(response, "name")


def test_a_nul_in_a_query_parameter_name_or_an_unrouted_path_is_a_400(client_for, world):
    client = client_for(world["operator"])
    assert_problem(client.get(f"{CONFIG_URL}?x%00=1"), "query")
    assert_problem(client.get("/api/v1/no-such-thing%00"), "path")


def test_a_nul_in_an_audit_filter_is_a_400(client_for, world):
    client = client_for(world["operator"])
    assert_problem(client.get("/api/v1/admin/audit-events?q=%00&tenant=alpha"), "q")
    assert_problem(client.get("/api/v1/admin/audit-events?tenant=al%00pha"), "tenant")


def test_a_nul_on_a_page_is_a_plain_400(client):
    response = client.get("/status/acme/?x=%00")
    assert response.status_code == 400
    assert not response["Content-Type"].startswith("application/problem+json")


def test_parameters_without_nul_pass(client_for, world):
    response = client_for(world["operator"]).get(f"{CONFIG_URL}/monitoring.min_interval_s?x=1")
    assert response.status_code == 200, response.content


# --- Config variable values ------------------------------------------------------------------


@pytest.mark.parametrize("value", [10**400, -(10**400)])
def test_an_integer_too_large_for_a_float_is_out_of_range(client_for, world, value):
    name = "monitoring.min_interval_s"
    response = client_for(world["operator"]).patch(
        f"{CONFIG_URL}/{name}", {"value": value}, format="json"
    )
    errors = assert_problem(response, "value")
    assert errors[0]["code"] == "out_of_range"
    with pytest.raises(InvalidInput):
        config_set(name=name, value=value)
    assert not ConfigVariable.objects.filter(name=name).exists()


def test_a_string_value_with_a_nul_is_a_400(client_for, world):
    response = client_for(world["operator"]).patch(
        f"{CONFIG_URL}/billing.seller_name", {"value": "Acme\u0000"}, format="json"
    )
    errors = assert_problem(response, "value")
    assert errors[0]["code"] == "null_characters_not_allowed"
    assert not ConfigVariable.objects.filter(name="billing.seller_name").exists()


def test_large_but_whole_numbers_are_still_compared_exactly(client_for, world):
    response = client_for(world["operator"]).patch(
        f"{CONFIG_URL}/monitoring.min_interval_s", {"value": 2**63}, format="json"
    )
    errors = assert_problem(response, "value")
    assert errors[0]["code"] == "out_of_range"
    assert str(2**63) in errors[0]["message"]


# --- Timestamps ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "expected"), [(1, "0001"), (999, "0999"), (1000, "1000"), (2026, "2026")]
)
def test_api_times_have_four_digit_years(year, expected):
    value = dt.datetime(year, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC)
    assert api_time(value) == f"{expected}-01-02T03:04:05.000006Z"
