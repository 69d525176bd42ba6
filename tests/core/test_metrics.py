"""/metrics: token-protected, django-prometheus' metrics plus our Redis-backed counters, which the
real code paths increment (a check through the scheduler, a Stripe event through its processor)."""

import time

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from apps.billing.models import StripeEvent
from apps.billing.stripe_events import stripe_event_process
from apps.core import metrics
from apps.core.models import Node
from apps.core.nodes import Usage, node_report
from tests.monitoring.conftest import http_target  # noqa: F401  (a fixture of the monitoring tests)
from tests.monitoring.factories import create, make_due, run_checks

pytestmark = pytest.mark.django_db
TOKEN = "scrape-secret-0123456789"


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(client) -> dict[str, dict[tuple, float]]:
    """{sample name: {sorted label items: value}} of one authenticated scrape."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/plain")
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get(name, {}).get(tuple(sorted(labels.items())), 0.0)


def test_no_token_configured_means_no_endpoint(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", "Bearer"])
def test_missing_or_wrong_token_is_a_401_problem(client, metrics_on, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/metrics", **extra)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/not-authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_the_right_token_gets_django_and_quayside_metrics(client, metrics_on, world):
    node_report(name="worker@metrics-test", kind="worker", usage=Usage())
    client.get("/healthz")
    samples = scrape(client)
    # django-prometheus' middleware pair counted the request above.
    assert any(name.startswith("django_http_requests") for name in samples)
    assert value(samples, "quayside_tenants", status="active") >= 2
    assert value(samples, "quayside_nodes", kind="worker", stale="false") >= 1
    queue = metrics.queue_names()[0]
    assert (("queue", queue),) in samples["quayside_queue_depth"]
    Node.objects.filter(name="worker@metrics-test").delete()


def test_counters_add_up_across_calls_and_refuse_unknown_labels(client, metrics_on, caplog):
    before = value(scrape(client), "quayside_webhook_deliveries_total", outcome="succeeded")
    metrics.metric_inc("quayside_webhook_deliveries_total", outcome="succeeded")
    metrics.metric_inc("quayside_webhook_deliveries_total", 2, outcome="succeeded")
    metrics.metric_inc("quayside_webhook_deliveries_total", colour="red")  # logged, not raised
    metrics.metric_inc("quayside_no_such_metric_total")
    after = value(scrape(client), "quayside_webhook_deliveries_total", outcome="succeeded")
    assert after - before == 3
    assert caplog.text.count("Could not count metric") == 2


def test_a_check_run_by_the_scheduler_is_counted(client, metrics_on, world, settings, http_target):  # noqa: F811
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    before = scrape(client)
    start = time.time()
    minute_before = metrics.rate_window("checks", minutes=1, now=start + 60)
    tenant = world["tenant_a"]
    up = create(tenant, kind="http", name="up", url=f"{http_target.url}/ok")
    down = create(tenant, kind="http", name="down", url=f"{http_target.url}/status/500")
    make_due(up, down)
    run_checks()
    after = scrape(client)
    for result in ("ok", "failed"):
        grew = value(after, "quayside_checks_total", result=result) - value(
            before, "quayside_checks_total", result=result
        )
        assert grew == 1, result
    # The dashboard's per-minute counter saw both (read as if this minute were over).
    end = time.time()
    minutes = int(end // 60) - int(start // 60) + 1
    minute_after = metrics.rate_window("checks", minutes=minutes, now=end + 60)
    assert minute_after - minute_before == 2


def test_a_processed_stripe_event_is_counted(client, metrics_on, world):
    labels = {"type": "quayside.test_event", "outcome": "ignored"}
    before = value(scrape(client), "quayside_stripe_events_total", **labels)
    event = StripeEvent.objects.create(
        stripe_event_id="evt_metrics_test",
        type="quayside.test_event",
        stripe_created=timezone.now(),
        payload={"data": {"object": {"object": "thing"}}},
    )
    assert stripe_event_process(event_pk=event.pk, customer_id="") == "ignored"
    assert stripe_event_process(event_pk=event.pk, customer_id="") == "ignored"  # not again
    assert value(scrape(client), "quayside_stripe_events_total", **labels) - before == 1
