"""The deliveries of a webhook endpoint cost the same number of queries with a few messages as
with many, and with more attempts per message (the endpoints list: test_webhooks_api.py)."""

from __future__ import annotations

import datetime as dt
import itertools

from django.utils import timezone

from apps.webhooks.models import WebhookAttempt, WebhookMessage
from tests.assertions import counted_get
from tests.webhooks.webhook_support import endpoint_create, in_tenant

_serial = itertools.count()


def _messages(endpoint, n: int, attempts_each: int) -> None:
    now = timezone.now()
    messages = WebhookMessage.objects.bulk_create(
        WebhookMessage(msg_id=f"msg_q{i}", endpoint=endpoint, event_type="monitor.down",
                       body='{"type": "monitor.down", "data": {}}',
                       created_at=now - dt.timedelta(seconds=i), attempts_count=attempts_each)
        for i in (next(_serial) for _ in range(n))
    )  # fmt: skip
    WebhookAttempt.objects.bulk_create(
        WebhookAttempt(message=message, attempted_at=now - dt.timedelta(seconds=a),
                       ok=a == 0, status_code=200 if a == 0 else 503, duration_ms=40,
                       error="" if a == 0 else "HTTP 503")
        for message in messages
        for a in range(attempts_each)
    )  # fmt: skip


def test_webhook_deliveries_with_more_attempts_each(client_for, world):
    tenant = world["tenant_a"]
    client = client_for(world["alice"], tenant)  # deliveries: owners and admins
    endpoint, _ = endpoint_create(tenant, "https://example.com/hook-q")
    with in_tenant(tenant):
        _messages(endpoint, 3, attempts_each=1)
    path = f"/api/v1/webhook-endpoints/{endpoint.pk}/deliveries?page_size=200"
    few, body = counted_get(client, path)
    assert len(body["results"]) == 3
    with in_tenant(tenant):
        _messages(endpoint, 57, attempts_each=5)
    many, body = counted_get(client, path)
    assert len(body["results"]) == 60
    assert sorted({len(row["attempts"]) for row in body["results"]}) == [1, 5]
    assert many == few
