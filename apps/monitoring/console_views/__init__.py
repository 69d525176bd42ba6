"""The tenant console's monitoring pages (journey 7 of docs/console.md, "Monitors"): views that
the model admins of apps/monitoring/console.py route. They read with the monitoring selectors
and write with the same services as the API, under the API's role floors (`_common`)."""

from ._common import WRITE as WRITE_ROLE
from .incidents import incident_acknowledge_view, incident_resolve_view, incident_view
from .monitors import (
    monitor_create_view,
    monitor_pause_view,
    monitor_resume_view,
    monitor_view,
)
from .status_pages import status_page_preview_view

__all__ = [
    "WRITE_ROLE",
    "incident_acknowledge_view",
    "incident_resolve_view",
    "incident_view",
    "monitor_create_view",
    "monitor_pause_view",
    "monitor_resume_view",
    "monitor_view",
    "status_page_preview_view",
]
