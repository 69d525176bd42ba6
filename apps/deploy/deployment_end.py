"""How a deployment ends when it does not go live: its final failed/canceled state, the audit
row and the outbox event, in one place for the Runner, the claim and the reaper."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.core import crypto
from apps.core.audit import audit_record

from . import events, services
from .models import App, AppStatus, Deployment, DeploymentLog, DeploymentState, LogStream
from .runtime import RuntimeProblem

S = DeploymentState


def now_iso() -> str:
    return timezone.now().isoformat().replace("+00:00", "Z")


def record_end(
    deployment: Deployment,
    tenant,
    state: str,
    failed_step: str,
    reason: str,
    *,
    app_failed: bool = True,
) -> None:
    """A deployment's final failed/canceled state, its audit row and its event. `app_failed`:
    an app with nothing live (and not stopped) is marked failed, unless nothing was tried."""
    now = timezone.now()
    if failed_step and failed_step in deployment.steps:
        deployment.steps[failed_step]["finished_at"] = now_iso()
    deployment.state = state
    deployment.failure_step = failed_step if state == S.FAILED else ""
    deployment.failure_reason = reason[:5000]
    deployment.finished_at = now
    deployment.save(
        update_fields=[
            "state",
            "steps",
            "failure_step",
            "failure_reason",
            "finished_at",
            "updated_at",
        ]
    )
    if app_failed:
        App.objects.filter(pk=deployment.app_id, live_deployment__isnull=True).exclude(
            status=AppStatus.STOPPED
        ).update(status=AppStatus.FAILED)
    audit_record(
        action=f"deployment.{'failed' if state == S.FAILED else 'canceled'}",
        tenant=tenant,
        target=deployment,
        metadata={"app": deployment.app.name, "step": failed_step, "reason": reason[:500]},
    )
    events.deployment_event(
        f"deployment.{'failed' if state == S.FAILED else 'canceled'}", deployment, tenant=tenant
    )


def fail_without_runner(deployment: Deployment, exc: Exception, *, what: str) -> None:
    """Fail a deployment whose Runner could not even be made (an env var no configured key
    decrypts, an unknown runtime provider), so that its app's slot is not held for ever."""
    if isinstance(exc, crypto.DecryptionError):
        cause = "an env var of the app cannot be decrypted with the configured keys"
    elif isinstance(exc, RuntimeProblem):
        cause = exc.message
    else:
        cause = f"internal error ({type(exc).__name__})"
    reason = f"{what}: {cause}; the previous release keeps serving."
    DeploymentLog.objects.create(deployment=deployment, stream=LogStream.SYSTEM, line=reason)
    with transaction.atomic():
        record_end(deployment, services.current_tenant(), S.FAILED, "", reason)
