"""From a real change to a signed request: a monitor going down (through the services, not a
hand-made event) reaches a subscribed endpoint as `monitor.down` and `incident.opened`, and the
delivery is counted in /metrics."""

import datetime as dt

from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from standardwebhooks import Webhook

from apps.core.actor import Actor
from apps.core.outbox import outbox_dispatch
from apps.monitoring import services
from apps.monitoring.checks import Outcome
from tests.monitoring.factories import create
from tests.webhooks.webhook_support import deliver, endpoint_create, in_tenant

TOKEN = "scrape-secret-e2e"


def _delivered_ok(client) -> float:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            if sample.name == "quayside_webhook_deliveries_total" and sample.labels == {
                "outcome": "ok"
            }:
                return sample.value
    return 0.0


def test_monitor_down_reaches_the_endpoint_signed(receiver, world, client, settings):
    settings.METRICS_TOKEN = TOKEN
    tenant = world["tenant_a"]
    _, secret = endpoint_create(
        tenant, receiver.url("/e2e"), event_types=["monitor.*", "incident.*"]
    )
    monitor = create(tenant, kind="http", name="shop", url="http://127.0.0.1:9/")
    before = _delivered_ok(client)
    with in_tenant(tenant):
        services.results_apply(
            tenant=tenant,
            items=[services.ResultItem(monitor.pk, Outcome(ok=False, error="Status 503"),
                                       timezone.now() - dt.timedelta(seconds=1))],
        )  # fmt: skip
    outbox_dispatch()
    assert deliver()["ok"] == 2
    got = receiver.got("/e2e")
    payloads = [Webhook(secret).verify(body, headers) for _, headers, body in got]
    assert sorted(p["type"] for p in payloads) == ["incident.opened", "monitor.down"]
    down = next(p for p in payloads if p["type"] == "monitor.down")
    assert down["data"]["id"] == str(monitor.pk)
    assert down["data"]["status"] == "down"
    assert down["data"]["incident"]["cause"] == "Status 503"
    assert _delivered_ok(client) - before == 2


def test_a_deleted_tenant_is_told_of_its_own_deletion(receiver, world):
    from apps.tenants import services as tenants
    from apps.tenants.models import Role

    tenant = world["tenant_a"]
    _, secret = endpoint_create(tenant, receiver.url("/gone"), event_types=["tenant.*"])
    tenants.tenant_delete(tenant=tenant, actor=Actor(user=world["alice"], role=Role.OWNER))
    outbox_dispatch()
    assert deliver()["ok"] == 1
    [(_, headers, body)] = receiver.got("/gone")
    payload = Webhook(secret).verify(body, headers)
    assert payload["type"] == "tenant.deleted"
    assert payload["data"]["status"] == "deleted"
