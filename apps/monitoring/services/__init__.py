"""Writes of the monitoring app: one use case per function, keyword-only, in one transaction,
audited. They run in the current tenant's schema; `tenant` is the Tenant it belongs to.

The hot path is results_apply(): the scheduler (and heartbeat pings) hand it a batch of
outcomes for one tenant, and it writes them with a constant number of statements: one locking
read of the monitors, one bulk insert of results, one bulk update of monitors, one upsert of
hourly rollups, plus a few rows per state change (incident, audit, inbox, alerts).

The services live in modules named for what they hold; this package re-exports them, so
`from apps.monitoring import services; services.monitor_create(...)` works as before:
validation, monitors (and the monitors of deployed apps), results (and retention), incidents
(and alerts), channels, maintenance (windows and silences), heartbeats, status_pages;
`Actor` and `SYSTEM` are apps.core.actor's, re-exported for the callers that name them here."""

from apps.core.actor import SYSTEM, Actor

from ._common import MonitorNotFound
from .channels import (
    MAX_EMAIL_RECIPIENTS,
    alert_channel_create,
    alert_channel_delete,
    alert_channel_update,
)
from .heartbeats import PingNotFound, heartbeat_late_outcome, heartbeat_ping
from .incidents import alert_channel_test, incident_acknowledge, incident_resolve
from .maintenance import (
    maintenance_window_create,
    maintenance_window_delete,
    maintenance_window_update,
    silence_create,
    silence_expire,
)
from .monitors import (
    app_monitor_ensure,
    app_monitor_remove,
    monitor_create,
    monitor_delete,
    monitor_pause,
    monitor_resume,
    monitor_update,
)
from .results import MONITOR_RESULT_FIELDS, ResultItem, results_apply, results_purge
from .status_pages import (
    RESERVED_STATUS_SLUGS,
    STATUS_PAGE_FIELDS,
    STATUS_PAGE_SLUG,
    StatusPageNotFound,
    status_page_create,
    status_page_delete,
    status_page_update,
)
from .validation import (
    COMMON_FIELDS,
    EDITABLE,
    HEARTBEAT_FIELDS,
    HTTP_FIELDS,
    SOCKET_FIELDS,
    STATUS_RANGE,
    heartbeat_deadline,
)

__all__ = [
    "COMMON_FIELDS",
    "EDITABLE",
    "HEARTBEAT_FIELDS",
    "HTTP_FIELDS",
    "MAX_EMAIL_RECIPIENTS",
    "MONITOR_RESULT_FIELDS",
    "RESERVED_STATUS_SLUGS",
    "SOCKET_FIELDS",
    "STATUS_PAGE_FIELDS",
    "STATUS_PAGE_SLUG",
    "STATUS_RANGE",
    "SYSTEM",
    "Actor",
    "MonitorNotFound",
    "PingNotFound",
    "ResultItem",
    "StatusPageNotFound",
    "alert_channel_create",
    "alert_channel_delete",
    "alert_channel_test",
    "alert_channel_update",
    "app_monitor_ensure",
    "app_monitor_remove",
    "heartbeat_deadline",
    "heartbeat_late_outcome",
    "heartbeat_ping",
    "incident_acknowledge",
    "incident_resolve",
    "maintenance_window_create",
    "maintenance_window_delete",
    "maintenance_window_update",
    "monitor_create",
    "monitor_delete",
    "monitor_pause",
    "monitor_resume",
    "monitor_update",
    "results_apply",
    "results_purge",
    "silence_create",
    "silence_expire",
    "status_page_create",
    "status_page_delete",
    "status_page_update",
]
