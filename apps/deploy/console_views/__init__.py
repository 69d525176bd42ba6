"""The tenant console's app pages (journeys 2 to 6 of docs/console.md, "Apps"): views that the
App model admin of the console routes (apps/deploy/console.py). Each reads with the deploy
selectors and writes with the same services as the API, under the API's role floors
(`_common`)."""

from ._common import CREATE as CREATE_ROLE
from .apps import (
    app_create_view,
    app_delete_view,
    app_deploy_view,
    app_overview_view,
    app_restart_view,
    app_scale_view,
)
from .config import env_reveal_view, env_unset_view, env_view
from .deployments import (
    deployment_cancel_view,
    deployment_status_view,
    deployment_stream_view,
    deployment_view,
    progress,
)
from .domains import domain_remove_view, domain_verify_view, domains_view
from .history import activity_view, releases_view, rollback_view
from .logs import logs_lines_view, logs_view

__all__ = [
    "CREATE_ROLE",
    "activity_view",
    "app_create_view",
    "app_delete_view",
    "app_deploy_view",
    "app_overview_view",
    "app_restart_view",
    "app_scale_view",
    "deployment_cancel_view",
    "deployment_status_view",
    "deployment_stream_view",
    "deployment_view",
    "domain_remove_view",
    "domain_verify_view",
    "domains_view",
    "env_reveal_view",
    "env_unset_view",
    "env_view",
    "logs_lines_view",
    "logs_view",
    "progress",
    "releases_view",
    "rollback_view",
]
