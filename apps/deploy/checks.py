"""Whether this host may run the local runtime as configured: production never runs apps
unsandboxed unless DEPLOY_SANDBOX=off says so in as many words (issue 13).

- DEPLOY_SANDBOX on (the default) and the sandbox cannot run here
  (`sandbox.missing_requirements()`): in production (DEPLOY_SANDBOX_REQUIRED, set by
  config/settings/production.py) the processes that run apps refuse to start with
  `refusal_message()`, and `manage.py check --deploy` reports it as deploy.E001. Elsewhere they
  start and log the same problems (deployments then fail, naming them).
- DEPLOY_SANDBOX=off: OFF_WARNING in the log on every start of those processes, as the system
  check warning deploy.W001 (every management command that runs checks: migrate, release,
  runserver, check), and on the operator dashboard (config/admin_dashboard.py).

"The processes that run apps" are a Celery worker that consumes the default queue (deployments,
the reconciler) and `manage.py deploy_runtime render` (which writes supervisord's config before
the runtime starts). The web server and the `checks` workers run no app, so nothing is asked of
them: the sandbox needs root, and the web server should not run as root."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core import checks

from .runtime import sandbox

logger = logging.getLogger(__name__)

OFF_WARNING = (
    "DEPLOY_SANDBOX=off: apps run unsandboxed, all as one user (DEPLOY_RUN_AS_USER) on this "
    "host's network and without resource limits, so any app can reach Quayside's database and "
    "Redis, the other apps and their environments. Use it on development machines only; unset "
    "DEPLOY_SANDBOX to sandbox every app."
)


class SandboxUnavailable(Exception):
    """Production's local runtime cannot sandbox apps and was not told to run them unsandboxed."""


def local_runtime() -> bool:
    return settings.DEPLOY_PROVIDER == "local"


def required() -> bool:
    """Production: refuse to start rather than leave every deployment failing."""
    return bool(getattr(settings, "DEPLOY_SANDBOX_REQUIRED", False))


def sandbox_off() -> bool:
    """The local runtime runs apps unsandboxed (DEPLOY_SANDBOX=off, never the default)."""
    return local_runtime() and not sandbox.enabled()


def problems() -> list[str]:
    """What keeps the sandbox from running in this process; empty when it is off."""
    if not local_runtime() or not sandbox.enabled():
        return []
    return sandbox.missing_requirements()


def refusal_message(found: list[str]) -> str:
    return (
        "The local runtime will not start: DEPLOY_SANDBOX is on, but the app sandbox cannot run "
        "on this host: " + "; ".join(found) + '. Fix that (docs/deploy.md, "Installing the '
        'sandbox"), or set DEPLOY_SANDBOX=off to run apps unsandboxed (development only).'
    )


def dashboard_warning() -> str:
    """The operator dashboard's banner: the same words as the log's, or nothing."""
    return OFF_WARNING if sandbox_off() else ""


def startup_guard(where: str, *, log: bool = True) -> list[str]:
    """Called as a process that runs apps starts. Raises SandboxUnavailable in production when
    the sandbox cannot run; otherwise returns the warnings to show (logged unless `log` is
    False: a management command prints them itself)."""
    if sandbox_off():
        if log:
            logger.warning("%s: %s", where, OFF_WARNING)
        return [OFF_WARNING]
    found = problems()
    if not found:
        return []
    message = refusal_message(found)
    if required():
        if log:
            logger.critical("%s: %s", where, message)
        raise SandboxUnavailable(message)
    warning = message.replace("will not start", "starts, but every deployment will fail", 1)
    if log:
        logger.warning("%s: %s", where, warning)
    return [warning]


def consumes_default_queue(worker) -> bool:
    """Whether a Celery worker (WorkController) takes tasks from the default queue, where
    deployments and the reconciler go (the `checks` workers take only their own queue)."""
    app = worker.app
    return app.conf.task_default_queue in app.amqp.queues.consume_from


def on_worker_init(sender=None, **kwargs) -> None:
    """celery's worker_init: refuse to start a worker that would deploy apps unsandboxed.
    SystemExit, because Celery logs and swallows any Exception a signal handler raises."""
    if sender is None or not local_runtime() or not consumes_default_queue(sender):
        return
    try:
        startup_guard(f"worker {getattr(sender, 'hostname', '')}".strip())
    except SandboxUnavailable as exc:
        raise SystemExit(str(exc)) from exc


@checks.register(checks.Tags.security)
def check_sandbox_off(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if not sandbox_off():
        return []
    return [
        checks.Warning(
            OFF_WARNING,
            hint='Install the sandbox (docs/deploy.md, "Installing the sandbox") and unset '
            "DEPLOY_SANDBOX.",
            id="deploy.W001",
        )
    ]


@checks.register(checks.Tags.security, deploy=True)
def check_sandbox_can_run(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """`check --deploy`, run on the host and as the user of the worker that deploys apps."""
    if not required():
        return []
    found = problems()
    if not found:
        return []
    return [checks.Error(refusal_message(found), id="deploy.E001")]
