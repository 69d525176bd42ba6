"""Writes of the deploy app: one use case per function, keyword-only, in one transaction, audited.

The long work (fetch, build, start, switch) is the pipeline's (pipeline.py), run by a Celery task
that services enqueue after their transaction commits. Runs in the current tenant's schema; the
`tenant` argument is the Tenant the request or task was routed to.

The services live in modules named for what they hold; this package re-exports them, so
`from apps.deploy import services; services.app_create(...)` works as before: apps, config (env
vars and releases), deployments, domains; `_common` holds the hand-offs to Celery and the
router. `Actor` and `SYSTEM` are apps.core.actor's, re-exported for the callers that name them
here."""

from apps.core.actor import SYSTEM, Actor

# pipeline.py cancels a queued deployment it finds superseded (a private name it always used).
from ._common import _cancel_queued as _cancel_queued
from ._common import (
    current_tenant,
    enqueue_deployment,
    enqueue_reconcile,
    routes_sync_quietly,
)
from .apps import (
    APP_NAME,
    DNS_LABEL_MAX,
    HEALTH_PATH,
    app_create,
    app_delete,
    app_update,
    git_allow_local,
    git_source,
    git_url,
    webhook_secret,
    webhook_secret_rotate,
)
from .config import (
    ENV_KEY,
    LOG_SECRET_RELEASES,
    MAX_ENV_VALUE,
    RESERVED_ENV_KEYS,
    app_runtime_logs,
    config_of,
    env_var_reveal,
    env_vars_update,
    git_credentials,
    log_secrets,
    release_config,
    release_for_build,
    release_latest_runnable,
)
from .deployments import (
    MAX_PROCESSES_PER_TYPE,
    PROCESS_LIMIT,
    app_restart,
    app_scale,
    app_start,
    app_stop,
    check_process_quota,
    deployment_cancel,
    deployment_create,
    formation_set,
    release_rollback,
)
from .domains import (
    HOSTNAME,
    domain_add,
    domain_record_name,
    domain_record_value,
    domain_remove,
    domain_verify,
)
from .sources import images_allowed, refuse_unless_images_allowed, registry_credentials

__all__ = [
    "APP_NAME",
    "DNS_LABEL_MAX",
    "ENV_KEY",
    "HEALTH_PATH",
    "HOSTNAME",
    "LOG_SECRET_RELEASES",
    "MAX_ENV_VALUE",
    "MAX_PROCESSES_PER_TYPE",
    "PROCESS_LIMIT",
    "RESERVED_ENV_KEYS",
    "SYSTEM",
    "Actor",
    "app_create",
    "app_delete",
    "app_restart",
    "app_runtime_logs",
    "app_scale",
    "app_start",
    "app_stop",
    "app_update",
    "check_process_quota",
    "config_of",
    "current_tenant",
    "deployment_cancel",
    "deployment_create",
    "domain_add",
    "domain_record_name",
    "domain_record_value",
    "domain_remove",
    "domain_verify",
    "enqueue_deployment",
    "enqueue_reconcile",
    "env_var_reveal",
    "env_vars_update",
    "formation_set",
    "git_allow_local",
    "git_credentials",
    "git_source",
    "git_url",
    "images_allowed",
    "log_secrets",
    "refuse_unless_images_allowed",
    "registry_credentials",
    "release_config",
    "release_for_build",
    "release_latest_runnable",
    "release_rollback",
    "routes_sync_quietly",
    "webhook_secret",
    "webhook_secret_rotate",
]
