"""Client mistakes on the outgoing webhook API answer a 400 problem, never a 500: NUL
characters in delivery filters and message ids (PostgreSQL text cannot hold them), a delivery
status outside its enum, URLs urlsplit() cannot parse. A replay since the year 1 answers four
digit years."""

from __future__ import annotations

import pytest

from apps.core.actor import SYSTEM
from apps.core.problems import InvalidInput
from apps.webhooks import services as webhook_services
from tests.assertions import BAD_URLS, assert_problem
from tests.webhooks.webhook_support import endpoint_create, in_tenant


@pytest.fixture
def alice(client_for, world):
    return client_for(world["alice"], world["tenant_a"])


@pytest.fixture
def endpoint(world, receiver):
    endpoint, _secret = endpoint_create(world["tenant_a"], receiver.url())
    return endpoint


@pytest.mark.parametrize(
    ("suffix", "field"),
    [("deliveries?status=%00", "status"), ("deliveries?event_type=monitor.%00", "event_type")],
)
def test_a_nul_in_a_delivery_filter_is_a_400(alice, endpoint, suffix, field):
    assert_problem(alice.get(f"/api/v1/webhook-endpoints/{endpoint.pk}/{suffix}"), field)


def test_a_nul_message_id_to_replay_is_a_400(alice, endpoint):
    response = alice.post(f"/api/v1/webhook-endpoints/{endpoint.pk}/deliveries/%00/replay")
    assert_problem(response, "msg_id")


def test_an_unknown_delivery_status_is_a_400(alice, endpoint):
    response = alice.get(f"/api/v1/webhook-endpoints/{endpoint.pk}/deliveries?status=lost")
    errors = assert_problem(response, "status")
    assert "pending, succeeded, failed" in errors[0]["message"]


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_webhook_endpoint_url_urlsplit_cannot_parse_is_refused(alice, world, url):
    assert_problem(alice.post("/api/v1/webhook-endpoints", {"url": url}), "url")
    tenant = world["tenant_a"]
    with in_tenant(tenant), pytest.raises(InvalidInput) as raised:
        webhook_services.webhook_endpoint_create(tenant=tenant, actor=SYSTEM, url=url)
    assert raised.value.errors[0]["field"] == "url"


def test_a_replay_since_the_year_1_answers_a_four_digit_year(alice, endpoint):
    response = alice.post(
        f"/api/v1/webhook-endpoints/{endpoint.pk}/replay", {"since": "0001-01-01T00:00:00Z"}
    )
    assert response.status_code == 202, response.content
    assert response.json()["since"] == "0001-01-01T00:00:00.000000Z"
    assert response["Location"].endswith("/deliveries?since=0001-01-01T00:00:00.000000Z")
