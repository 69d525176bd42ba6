"""Monitors, checks, incidents, alerts, status pages, outgoing webhooks. Imported by base.py."""

import environ

env = environ.Env()

# Periodic tasks of the monitoring app; base.py merges them into CELERY_BEAT_SCHEDULE.
MONITORING_BEAT_SCHEDULE: dict = {}
