"""Outgoing webhooks (apps/webhooks/, docs/webhooks.md). Imported by base.py.

The deliverer's Celery tasks keep the names they had in apps.monitoring
(`monitoring.webhooks_deliver`, `monitoring.webhooks_tick`), and its outbox consumer the name
stored in OutboxEvent.errors: queued tasks, django-celery-beat rows and stored errors still
mean the same thing."""

import environ

env = environ.Env()

# Outgoing webhooks (docs/webhooks.md). Per attempt: timeout; after a failed attempt, the
# delay before the next one (after the last: failed). An endpoint failing without a single
# success for WEBHOOKS_DISABLE_AFTER_S is disabled; a rotated secret keeps signing this long.
WEBHOOKS_TIMEOUT_S = env.float("WEBHOOKS_TIMEOUT_S", default=15.0)
WEBHOOKS_RETRY_SCHEDULE_S = [5, 300, 1800, 7200, 18000, 36000, 36000]
WEBHOOKS_DISABLE_AFTER_S = env.int("WEBHOOKS_DISABLE_AFTER_S", default=5 * 86400)
WEBHOOKS_ROTATION_OVERLAP_S = env.int("WEBHOOKS_ROTATION_OVERLAP_S", default=86400)
# Deliverer: messages claimed per query, requests in flight per runner, how long a claim holds
# before another runner may take the message (> timeout + a flush), how long one
# `monitoring.webhooks_deliver` task runs, and how many run at once.
WEBHOOKS_CLAIM_BATCH = env.int("WEBHOOKS_CLAIM_BATCH", default=200)
WEBHOOKS_CONCURRENCY = env.int("WEBHOOKS_CONCURRENCY", default=200)
# Keep-alive connections (and requests at once) per receiving origin, per runner; a runner
# claims no more messages of an endpoint while it has this many of them in flight.
WEBHOOKS_CONNECTIONS_PER_ORIGIN = env.int("WEBHOOKS_CONNECTIONS_PER_ORIGIN", default=8)
WEBHOOKS_CLAIM_PER_ENDPOINT = env.int("WEBHOOKS_CLAIM_PER_ENDPOINT", default=64)
# A claim of WEBHOOKS_CLAIM_PER_ENDPOINT messages to one slow receiver takes
# CLAIM_PER_ENDPOINT / CONNECTIONS_PER_ORIGIN waves of up to WEBHOOKS_TIMEOUT_S: 64 / 8 x 15 s =
# 120 s, so the lease is longer than that (a runner never loses a claim it is still sending).
WEBHOOKS_LEASE_S = env.int("WEBHOOKS_LEASE_S", default=150)
WEBHOOKS_RUN_BUDGET_S = env.float("WEBHOOKS_RUN_BUDGET_S", default=25.0)
WEBHOOKS_IDLE_EXIT_S = env.float("WEBHOOKS_IDLE_EXIT_S", default=3.0)
WEBHOOKS_RUNNERS = env.int("WEBHOOKS_RUNNERS", default=1)
WEBHOOKS_TICK_S = env.float("WEBHOOKS_TICK_S", default=5.0)
# Bytes of a receiver's answer kept with each attempt.
WEBHOOKS_RESPONSE_EXCERPT_BYTES = 1024
# Delivered and failed messages (and their attempts) are kept this long.
WEBHOOKS_RETENTION_DAYS = env.int("WEBHOOKS_RETENTION_DAYS", default=30)

# The outbox consumer, as (name, dotted path): the name is the path it had before the move
# (apps.webhooks.consumer.OUTBOX_CONSUMER_NAME); base.py puts it in OUTBOX_CONSUMERS.
WEBHOOKS_OUTBOX_CONSUMERS = [
    ("apps.monitoring.webhook_services.outbox_consume", "apps.webhooks.consumer.outbox_consume"),
]

# Periodic tasks; base.py merges them into CELERY_BEAT_SCHEDULE (the runners' queue, in
# base.py's CELERY_TASK_ROUTES, is monitoring's MONITORING_QUEUE).
WEBHOOKS_BEAT_SCHEDULE: dict = {
    "monitoring.webhooks_tick": {"task": "monitoring.webhooks_tick", "schedule": WEBHOOKS_TICK_S},
    "webhooks.purge": {"task": "webhooks.purge", "schedule": 3600.0},
}
