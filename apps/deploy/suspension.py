"""A tenant's suspension reaches its apps: suspended, they stop and the router answers 503 for
them; resumed, the ones that were running run again (the ones the tenant stopped stay stopped).

Deploy keeps no copy of the tenant's status: desired state is "the live deployment runs" only
while the app's status is not `stopped` *and* its tenant is active (selectors.apps_may_run,
selectors.routes_desired), so the periodic reconciler converges on its own. This outbox consumer
(settings.OUTBOX_CONSUMERS; tenants never import deploy) only makes it prompt: on
`tenant.suspended` and `tenant.resumed` it queues `deploy.reconcile_tenant` once the dispatch
commits."""

from __future__ import annotations

import functools
import logging

from django.db import transaction

from apps.core.models import OutboxEvent

logger = logging.getLogger(__name__)

HANDLED = ("tenant.suspended", "tenant.resumed")


def enqueue_tenant_reconcile(tenant_id) -> None:
    """Send deploy.reconcile_tenant; a broker that is down costs only promptness (the periodic
    reconciler gets there within a beat). Tests replace this to run the reconcile inline."""
    from .tasks import tenant_reconcile_task

    try:
        tenant_reconcile_task.delay(str(tenant_id))
    except Exception:
        logger.exception("Could not enqueue reconciling tenant %s", tenant_id)


def outbox_consume(events: list[OutboxEvent]) -> None:
    """One reconcile per tenant however many of its events are in the batch: it reads the
    tenant's status when it runs, so the last suspend or resume wins."""
    tenant_ids = dict.fromkeys(
        event.tenant_id for event in events if event.type in HANDLED and event.tenant_id
    )
    for tenant_id in tenant_ids:
        transaction.on_commit(functools.partial(enqueue_tenant_reconcile, tenant_id))
