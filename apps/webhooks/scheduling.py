"""The due index (apps.webhooks.due's WebhookDue, public schema): putting messages in it for
an attempt now, and waking a deliverer on commit (the beat tick is the safety net)."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .due.models import WebhookDue
from .models import WebhookEndpoint

logger = logging.getLogger(__name__)


def kick() -> None:
    from .tasks import webhooks_deliver

    try:
        webhooks_deliver.delay()
    except Exception:  # the beat tick picks the messages up
        logger.warning("webhooks: could not enqueue delivery", exc_info=True)


def endpoint_waiting_due_now(tenant, endpoint: WebhookEndpoint) -> None:
    """The endpoint's waiting messages (a retry hours away, say) become due now, so the
    deliverer marks them failed ("the endpoint is disabled") at once, not when their retry
    would have come (by when the endpoint may be enabled again). Rows a runner holds are left
    to it; it finds the endpoint disabled on its next claim."""
    WebhookDue.objects.filter(
        tenant_id=tenant.pk, endpoint_id=endpoint.pk, lease__isnull=True
    ).update(due_at=timezone.now())
    if getattr(settings, "WEBHOOKS_DELIVER_ON_COMMIT", True):
        transaction.on_commit(kick)


def messages_due_now(tenant, endpoint, message_ids: list[int], now: dt.datetime) -> None:
    """Put messages in the due index for an attempt now (a replay). A message already waiting
    is moved to now; one being sent loses its lease, so that attempt is logged but the
    replay decides the message's state."""
    WebhookDue.objects.bulk_create(
        [WebhookDue(tenant_id=tenant.pk, message_id=pk, endpoint_id=endpoint.pk, due_at=now,
                    trigger="replay", lease=None)
         for pk in message_ids],
        update_conflicts=True,
        unique_fields=["tenant", "message_id"],
        update_fields=["due_at", "trigger", "lease"],
    )  # fmt: skip
