"""The outbox consumer of outgoing webhooks (settings.OUTBOX_CONSUMERS): events in, messages
out. Runs inside the outbox dispatch transaction, in the public schema; it switches to each
event's tenant schema to write the messages."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.tenants.models import Tenant

from .due.models import WebhookDue
from .models import WebhookEndpoint, WebhookMessage
from .scheduling import kick
from .signing import endpoint_wants, envelope, msg_id_new

# The name this consumer has in settings.OUTBOX_CONSUMERS and in OutboxEvent.errors (the key of
# an event it could not take). It is the dotted path it had before outgoing webhooks moved out of
# apps.monitoring, kept so that stored errors still name the same consumer.
OUTBOX_CONSUMER_NAME = "apps.monitoring.webhook_services.outbox_consume"


def outbox_consume(events) -> None:
    """settings.OUTBOX_CONSUMERS entry: one message per event and matching enabled endpoint of
    the event's tenant, due now. Runs inside the outbox dispatch transaction, so messages exist
    exactly when the events are marked dispatched. Per batch: one read of endpoints and one
    insert of messages per tenant, one insert into the due index."""
    by_tenant: dict = defaultdict(list)
    for event in events:
        if event.tenant_id is not None:
            by_tenant[event.tenant_id].append(event)
    if not by_tenant:
        return
    # A deleted tenant is told of its own deletion (tenant.deleted); a purged one has no schema.
    tenants = Tenant.objects.filter(pk__in=list(by_tenant), purged_at__isnull=True)
    now = timezone.now()
    due: list[WebhookDue] = []
    for tenant in tenants.only("id", "schema_name"):
        with schema_context(tenant.schema_name):
            due += _messages_create(tenant, by_tenant[tenant.pk], now)
    if due:
        WebhookDue.objects.bulk_create(due, ignore_conflicts=True)
        if getattr(settings, "WEBHOOKS_DELIVER_ON_COMMIT", True):
            transaction.on_commit(kick)


def _messages_create(tenant, events, now: dt.datetime) -> list[WebhookDue]:
    endpoints = list(WebhookEndpoint.objects.filter(enabled=True).only("id", "event_types"))
    if not endpoints:
        return []
    rows = []
    for event in events:
        body = None
        for endpoint in endpoints:
            if not endpoint_wants(endpoint, event.type):
                continue
            body = body or envelope(type=event.type, timestamp=event.created_at, data=event.data)
            rows.append(
                WebhookMessage(
                    msg_id=msg_id_new(),
                    endpoint_id=endpoint.pk,
                    event_uid=event.uid,
                    event_type=event.type,
                    body=body,
                    created_at=now,
                    next_attempt_at=now,
                )
            )
    if not rows:
        return []
    # A message that exists already (the same event offered twice) keeps its id and state.
    rows = WebhookMessage.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["event_uid", "endpoint"],
        update_fields=["event_type"],
    )
    return [
        WebhookDue(tenant_id=tenant.pk, message_id=row.pk, endpoint_id=row.endpoint_id, due_at=now)
        for row in rows
    ]
