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

# Scheduler: checks claimed per query, checks in flight at once per worker task, and how long
# one `monitoring.run_due` task keeps claiming before it hands over to the next tick.
MONITORING_CLAIM_BATCH = env.int("MONITORING_CLAIM_BATCH", default=500)
MONITORING_CONCURRENCY = env.int("MONITORING_CONCURRENCY", default=500)
MONITORING_RUN_BUDGET_S = env.float("MONITORING_RUN_BUDGET_S", default=25.0)
# How many `run_due` tasks each tick sends (one per worker process is right).
MONITORING_RUNNERS = env.int("MONITORING_RUNNERS", default=2)
MONITORING_TICK_S = env.float("MONITORING_TICK_S", default=5.0)
# Bytes of a response body read for keyword and JSON conditions.
MONITORING_MAX_BODY_BYTES = 1024 * 1024

# Heartbeat pings (/ping/<uuid>): per monitor and per client IP, per minute.
MONITORING_PING_RATE_PER_MIN = env.int("MONITORING_PING_RATE_PER_MIN", default=60)
MONITORING_PING_IP_RATE_PER_MIN = env.int("MONITORING_PING_IP_RATE_PER_MIN", default=600)

# Periodic tasks of the monitoring app; base.py merges them into CELERY_BEAT_SCHEDULE.
MONITORING_BEAT_SCHEDULE: dict = {
    "monitoring.tick": {"task": "monitoring.tick", "schedule": MONITORING_TICK_S},
    "monitoring.purge": {"task": "monitoring.purge", "schedule": 3600.0},
}
