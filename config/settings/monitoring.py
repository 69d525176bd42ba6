"""Monitors, checks, incidents, alerts, status pages, outgoing webhooks. Imported by base.py."""

import environ

env = environ.Env()

# Outbound connections (checks, alert and outgoing webhooks) refuse private, loopback and
# link-local addresses except in these networks (CIDRs; "0.0.0.0/0,::/0" allows everything).
OUTBOUND_ALLOWED_NETWORKS = env.list("OUTBOUND_ALLOWED_NETWORKS", default=[])

# Monitors: the shortest interval a tenant may choose, and the default.
MONITORING_MIN_INTERVAL_S = env.int("MONITORING_MIN_INTERVAL_S", default=20)
MONITORING_DEFAULT_INTERVAL_S = 60
MONITORING_MAX_TIMEOUT_S = 60
# Raw check results are kept this long; hourly rollups (uptime, response times) much longer.
MONITORING_RESULTS_RETENTION_DAYS = env.int("MONITORING_RESULTS_RETENTION_DAYS", default=7)
MONITORING_ROLLUP_RETENTION_DAYS = env.int("MONITORING_ROLLUP_RETENTION_DAYS", default=400)

# The long-running runners (`monitoring.run_due`, `monitoring.webhooks_deliver`) go to a queue
# of their own, served by the Procfile's `checks` worker (MONITORING_RUNNERS + WEBHOOKS_RUNNERS
# processes), so they never hold the processes deployments, alerts and billing need. base.py
# routes them.
MONITORING_QUEUE = env("MONITORING_QUEUE", default="checks")

# Scheduler (docs/monitoring.md, "Scale"): checks claimed per query, checks in flight at once
# per runner, and how long one `monitoring.run_due` task keeps claiming before it queues its
# successor (MONITORING_RUN_HANDOVER) and frees its worker process for a moment.
MONITORING_CLAIM_BATCH = env.int("MONITORING_CLAIM_BATCH", default=500)
# A runner claims again after this long when its last claim emptied the due set (at once when
# it filled a batch): adds at most this to the scheduling lag, saves a claim per finished check.
MONITORING_CLAIM_EVERY_S = env.float("MONITORING_CLAIM_EVERY_S", default=0.2)
MONITORING_CONCURRENCY = env.int("MONITORING_CONCURRENCY", default=500)
MONITORING_RUN_BUDGET_S = env.float("MONITORING_RUN_BUDGET_S", default=25.0)
MONITORING_RUN_HANDOVER = env.bool("MONITORING_RUN_HANDOVER", default=True)
# How many `run_due` tasks run at once: one per core, so every core runs checks.
MONITORING_RUNNERS = env.int("MONITORING_RUNNERS", default=2)
MONITORING_TICK_S = env.float("MONITORING_TICK_S", default=5.0)
# Bytes of a response body read for keyword and JSON conditions.
MONITORING_MAX_BODY_BYTES = 1024 * 1024

# Heartbeat pings (/ping/<uuid>): per monitor and per client IP, per minute.
MONITORING_PING_RATE_PER_MIN = env.int("MONITORING_PING_RATE_PER_MIN", default=60)
MONITORING_PING_IP_RATE_PER_MIN = env.int("MONITORING_PING_IP_RATE_PER_MIN", default=600)

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

# The monitoring app's outbox consumers; base.py puts them in OUTBOX_CONSUMERS.
MONITORING_OUTBOX_CONSUMERS = [
    "apps.monitoring.app_monitors.outbox_consume",  # every deployed app gets a monitor
    "apps.monitoring.webhook_services.outbox_consume",  # outgoing webhooks
]

# Public status pages (/status/<slug>/): how long a rendered page is cached (and the
# Cache-Control max-age), and how many monitors one page may show.
MONITORING_STATUS_PAGE_CACHE_S = env.int("MONITORING_STATUS_PAGE_CACHE_S", default=30)
MONITORING_STATUS_PAGE_MAX_MONITORS = env.int("MONITORING_STATUS_PAGE_MAX_MONITORS", default=1000)

# Periodic tasks of the monitoring app; base.py merges them into CELERY_BEAT_SCHEDULE.
MONITORING_BEAT_SCHEDULE: dict = {
    "monitoring.tick": {"task": "monitoring.tick", "schedule": MONITORING_TICK_S},
    "monitoring.purge": {"task": "monitoring.purge", "schedule": 3600.0},
    "monitoring.webhooks_tick": {"task": "monitoring.webhooks_tick", "schedule": WEBHOOKS_TICK_S},
}
