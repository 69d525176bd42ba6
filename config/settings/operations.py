"""Operating Quayside: nodes, integrations health, Prometheus metrics. Imported by base.py.

docs/operations.md explains each one; the README's table lists the environment variables."""

import environ

env = environ.Env()

# Reported by every node (workers, beat, the runtime host); keep it equal to pyproject's.
QUAYSIDE_VERSION = env("QUAYSIDE_VERSION", default="0.1.0")

# --- Nodes (apps/core/nodes.py) -------------------------------------------------------------
# A node that has not reported for this long is flagged stale (workers report every 15 s).
NODE_STALE_AFTER_S = env.int("NODE_STALE_AFTER_S", default=60)
# Stale nodes not seen for this many days are deleted by the `core.nodes_prune` beat task.
NODE_PRUNE_AFTER_DAYS = env.int("NODE_PRUNE_AFTER_DAYS", default=7)

# --- Integrations health (apps/core/integrations.py) ----------------------------------------
# Probe functions, each `() -> ProbeResult`, run in parallel on the operator console's
# Integrations page. core ships database, Redis and email; apps add their own.
INTEGRATION_PROBES = [
    "apps.core.integrations.probe_database",
    "apps.core.integrations.probe_redis",
    "apps.core.integrations.probe_email",
    "apps.billing.probes.probe_stripe",
    "apps.deploy.runtime_health.probe_caddy",
]
INTEGRATION_PROBE_TIMEOUT_S = env.float("INTEGRATION_PROBE_TIMEOUT_S", default=2.0)
INTEGRATION_CACHE_S = env.int("INTEGRATION_CACHE_S", default=10)

# --- Prometheus (/metrics on the root host) -------------------------------------------------
# Bearer token the scraper sends; empty: /metrics answers 404 (it does not exist).
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# Functions yielding prometheus_client metric families at scrape time (apps' own gauges).
METRICS_COLLECTORS = [
    "apps.core.metrics.collect_nodes",
    "apps.core.metrics.collect_queues",
    "apps.tenants.metrics.collect_tenants",
]
# Celery queues whose length is shown on the dashboard and exported; empty: the default queue
# and the queues of CELERY_TASK_ROUTES (the monitoring runners' `checks`).
METRICS_QUEUES = env.list("METRICS_QUEUES", default=[])

# Periodic tasks; base.py merges them into CELERY_BEAT_SCHEDULE.
OPERATIONS_BEAT_SCHEDULE = {
    "core.nodes_prune": {"task": "core.nodes_prune", "schedule": 3600.0},
    # The local runtime host (supervisord + Caddy) reports as a `runtime` node.
    "deploy.runtime_report": {"task": "deploy.runtime_report", "schedule": 15.0},
    # Apps and today's deployments across tenant schemas, for the operator dashboard.
    "deploy.stats_refresh": {"task": "deploy.stats_refresh", "schedule": 60.0},
}
