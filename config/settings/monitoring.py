"""Monitors, checks, incidents, alerts, status pages. Imported by base.py."""

import environ

env = environ.Env()

# Outbound connections (checks, alert and outgoing webhooks) refuse private, loopback and
# link-local addresses except in these networks (CIDRs; "0.0.0.0/0,::/0" allows everything).
# Outgoing webhooks have their settings in config/settings/webhooks.py.
OUTBOUND_ALLOWED_NETWORKS = env.list("OUTBOUND_ALLOWED_NETWORKS", default=[])

# Monitors: the shortest interval a tenant may choose, and the default.
MONITORING_MIN_INTERVAL_S = env.int("MONITORING_MIN_INTERVAL_S", default=20)
MONITORING_DEFAULT_INTERVAL_S = 60
MONITORING_MAX_TIMEOUT_S = 60
# Raw check results are kept this long; hourly rollups (uptime, response times) much longer.
MONITORING_RESULTS_RETENTION_DAYS = env.int("MONITORING_RESULTS_RETENTION_DAYS", default=7)
MONITORING_ROLLUP_RETENTION_DAYS = env.int("MONITORING_ROLLUP_RETENTION_DAYS", default=400)

# The long-running runners (`monitoring.run_due`, and outgoing webhooks'
# `monitoring.webhooks_deliver`) go to a queue of their own, served by the Procfile's `checks`
# worker (MONITORING_RUNNERS + WEBHOOKS_RUNNERS processes), so they never hold the processes
# deployments, alerts and billing need. base.py routes them.
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

# The monitoring app's outbox consumers; base.py puts them in OUTBOX_CONSUMERS.
MONITORING_OUTBOX_CONSUMERS = [
    "apps.monitoring.app_monitors.outbox_consume",  # every deployed app gets a monitor
    "apps.monitoring.platform_alerts.outbox_consume",  # addon.backup_failed alerts
]

# Public status pages (/status/<slug>/): how long a rendered page is cached (and the
# Cache-Control max-age), and how many monitors one page may show.
MONITORING_STATUS_PAGE_CACHE_S = env.int("MONITORING_STATUS_PAGE_CACHE_S", default=30)
MONITORING_STATUS_PAGE_MAX_MONITORS = env.int("MONITORING_STATUS_PAGE_MAX_MONITORS", default=1000)

# Periodic tasks of the monitoring app; base.py merges them into CELERY_BEAT_SCHEDULE.
MONITORING_BEAT_SCHEDULE: dict = {
    "monitoring.tick": {"task": "monitoring.tick", "schedule": MONITORING_TICK_S},
    "monitoring.purge": {"task": "monitoring.purge", "schedule": 3600.0},
}
