from celery import shared_task
from django.db import connection

from . import nodes


@shared_task(name="core.ping")
def ping() -> dict[str, str]:
    """Proves the broker-worker-result round trip (and which schema the task ran in)."""
    return {"pong": "ok", "schema": connection.schema_name}


@shared_task(name="core.outbox_dispatch", ignore_result=True)
def outbox_dispatch() -> int:
    from django.core.cache import cache

    from .outbox import DispatcherBusy
    from .outbox import outbox_dispatch as dispatch

    try:
        return dispatch(wait=False)
    except DispatcherBusy:
        # Events committed while the other dispatcher finishes: one more turn a second later
        # (one per second however many kicks found it busy; beat is the safety net).
        if cache.add("outbox:dispatch-again", 1, timeout=1):
            outbox_dispatch.apply_async(countdown=1)
        return 0


@shared_task(name="core.outbox_purge", ignore_result=True)
def outbox_purge() -> int:
    from .outbox import outbox_purge as purge

    return purge()


@shared_task(name="core.nodes_prune")
def nodes_prune() -> int:
    return nodes.nodes_prune()


@shared_task(name="core.collect_daily_metrics")
def collect_daily_metrics() -> dict:
    """The operator dashboard's daily aggregates: yesterday and today upserted (idempotent),
    rows past the retention purged (apps/core/daily_metrics.py)."""
    from .daily_metrics import daily_metrics_refresh

    return daily_metrics_refresh()
