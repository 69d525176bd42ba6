"""Deployments: create and cancel, roll back, restart, scale (within the tenant's process
limit), stop and start."""

from __future__ import annotations

import functools
import re

from django.conf import settings
from django.db import transaction

from apps.core.actor import Actor
from apps.core.audit import audit_as
from apps.core.problems import Conflict, InvalidInput, QuotaExceeded
from apps.tenants.selectors import tenant_limit

from .. import selectors
from ..models import (
    MAX_PROCESSES_PER_TYPE,
    RUNNING_STATES,
    App,
    AppStatus,
    Deployment,
    DeploymentKind,
    DeploymentState,
    Formation,
    Release,
    ReleaseStatus,
    SourceKind,
)
from ..runtime.git import validate_ref
from ._common import _cancel_queued, _deployment_queue, _package
from .config import _release_make, release_config, release_latest_runnable
from .sources import refuse_unless_images_allowed


@transaction.atomic
def deployment_create(
    *,
    app: App,
    tenant,
    actor: Actor,
    ref: str = "",
    cancel_running: bool = False,
    source: str = "api",
) -> Deployment:
    """Deploy a git ref (the app's branch by default)."""
    app = App.objects.select_for_update().get(pk=app.pk)
    if app.source_kind == SourceKind.IMAGE:
        refuse_unless_images_allowed()
        if ref:
            raise InvalidInput(
                "An image app deploys its image_ref: change that instead of giving a ref.",
                field="ref",
            )
        ref = app.image_ref
    elif not app.git_url_encrypted:
        raise Conflict("This app has no git URL to deploy from: set git_url first.")
    else:
        try:
            ref = validate_ref(ref or app.branch)
        except ValueError as exc:
            raise InvalidInput(str(exc), field="ref") from exc
    return _deployment_queue(
        app=app,
        tenant=tenant,
        actor=actor,
        kind=DeploymentKind.DEPLOY,
        ref=ref,
        cancel_running=cancel_running,
        source=source,
    )


@transaction.atomic
def deployment_cancel(*, deployment: Deployment, tenant, actor: Actor) -> Deployment:
    deployment = Deployment.objects.select_for_update().get(pk=deployment.pk)
    if deployment.state == DeploymentState.QUEUED:
        _cancel_queued(deployment)
    elif deployment.state in RUNNING_STATES and deployment.state != DeploymentState.SWITCHING:
        deployment.cancel_requested = True
        deployment.save(update_fields=["cancel_requested", "updated_at"])
    else:
        raise Conflict(f"This deployment is {deployment.state}: too late to cancel it.")
    audit_as(actor, "deployment.canceled", tenant=tenant, target=deployment)
    return deployment


def _require_runnable(app: App) -> Release:
    release = release_latest_runnable(app)
    if release is None or app.live_deployment_id is None:
        raise Conflict("This app has not been deployed yet.")
    return release


@transaction.atomic
def release_rollback(*, app: App, release: Release, tenant, actor: Actor) -> Deployment:
    """A new release with an old one's build and config, deployed."""
    app = App.objects.select_for_update().get(pk=app.pk)
    if release.status != ReleaseStatus.SUCCEEDED or release.build_id is None:
        raise Conflict(f"v{release.version} did not succeed (or has no build): pick another.")
    new = _release_make(
        app=app,
        actor=actor,
        build=release.build,
        config=release_config(release),
        process_types=release.process_types,
        release_command=release.release_command,
        description=f"Rollback to v{release.version}",
        rollback_of=release,
    )
    audit_as(actor, "release.rolled_back", tenant=tenant, target=app, to=release.version,
        release=new.version,
    )  # fmt: skip
    return _deployment_queue(
        app=app, tenant=tenant, actor=actor, kind=DeploymentKind.ROLLBACK, release=new
    )


@transaction.atomic
def app_restart(*, app: App, tenant, actor: Actor) -> Deployment:
    app = App.objects.select_for_update().get(pk=app.pk)
    release = _require_runnable(app)
    return _deployment_queue(
        app=app, tenant=tenant, actor=actor, kind=DeploymentKind.RESTART, release=release
    )


PROCESS_LIMIT = "processes"  # the entitlement name billing writes onto the tenant


def _process_limit(tenant) -> int:
    limit = tenant_limit(tenant, PROCESS_LIMIT)
    return settings.DEPLOY_DEFAULT_MAX_PROCESSES if limit is None else int(limit)


def check_process_quota(*, app: App, tenant, formation: dict[str, int]) -> None:
    limit = _process_limit(tenant)
    others = selectors.process_count_for_tenant(exclude_app=app)
    wanted = sum(formation.values())
    if others + wanted > limit:
        raise QuotaExceeded(
            f"That would run {others + wanted} processes; this tenant may run {limit}.",
            extra={"limit": PROCESS_LIMIT, "allowed": limit, "requested": others + wanted},
        )


@transaction.atomic
def app_scale(*, app: App, tenant, actor: Actor, formation: dict[str, int]) -> Deployment:
    """Change how many processes of each type run (zero-downtime, like a restart)."""
    app = App.objects.select_for_update().get(pk=app.pk)
    release = _require_runnable(app)
    if not formation:
        raise InvalidInput("Give at least one process type and count.", field="formation")
    for process_type, count in formation.items():
        if process_type not in release.process_types:
            known = ", ".join(sorted(release.process_types)) or "none"
            raise InvalidInput(
                f"The release has no '{process_type}' process type (it has: {known}).",
                field=f"formation.{process_type}",
            )
        if not isinstance(count, int) or not 0 <= count <= MAX_PROCESSES_PER_TYPE:
            raise InvalidInput(
                f"Counts are whole numbers from 0 to {MAX_PROCESSES_PER_TYPE}.",
                field=f"formation.{process_type}",
            )
    live = app.live_deployment
    merged = {**(live.formation if live else {}), **formation}
    check_process_quota(app=app, tenant=tenant, formation=merged)
    audit_as(actor, "app.scaled", tenant=tenant, target=app, formation=merged)
    return _deployment_queue(
        app=app,
        tenant=tenant,
        actor=actor,
        kind=DeploymentKind.SCALE,
        release=release,
        formation=merged,
    )


PROCESS_TYPE = re.compile(r"[a-z][a-z0-9_-]{0,29}")


@transaction.atomic
def formation_set(*, app: App, tenant, actor: Actor, formation: dict[str, int]) -> dict[str, int]:
    """The process counts an app's next deployment runs (pipeline.default_formation reads
    them), without deploying: for an app that runs nothing yet, such as one just imported
    (apps/operations/portability). A running app is scaled by app_scale, which deploys."""
    app = App.objects.select_for_update().get(pk=app.pk)
    if app.live_deployment_id is not None:
        raise Conflict("This app is running: scale it (a deployment) instead.")
    for process_type, count in formation.items():
        if not isinstance(process_type, str) or not PROCESS_TYPE.fullmatch(process_type):
            raise InvalidInput(
                f"{process_type!r} is not a process type name.", field=f"formation.{process_type}"
            )
        if (
            not isinstance(count, int)
            or isinstance(count, bool)
            or not (0 <= count <= MAX_PROCESSES_PER_TYPE)
        ):
            raise InvalidInput(
                f"Counts are whole numbers from 0 to {MAX_PROCESSES_PER_TYPE}.",
                field=f"formation.{process_type}",
            )
    check_process_quota(app=app, tenant=tenant, formation=formation)
    for process_type, count in sorted(formation.items()):
        Formation.objects.update_or_create(
            app=app, process_type=process_type, defaults={"count": count}
        )
    Formation.objects.filter(app=app).exclude(process_type__in=list(formation)).delete()
    audit_as(actor, "app.formation_set", tenant=tenant, target=app, formation=formation)
    return dict(sorted(formation.items()))


@transaction.atomic
def app_stop(*, app: App, tenant, actor: Actor) -> App:
    app = App.objects.select_for_update().get(pk=app.pk)
    if app.active_deployment_id is not None:
        raise Conflict("A deployment of this app is running: wait for it or cancel it.")
    if app.live_deployment_id is None:
        raise Conflict("This app has not been deployed yet.")
    app.status = AppStatus.STOPPED
    app.save(update_fields=["status", "updated_at"])
    audit_as(actor, "app.stopped", tenant=tenant, target=app)
    transaction.on_commit(functools.partial(_package().enqueue_reconcile, app.pk))
    return app


@transaction.atomic
def app_start(*, app: App, tenant, actor: Actor) -> Deployment:
    app = App.objects.select_for_update().get(pk=app.pk)
    if app.status != AppStatus.STOPPED:
        raise Conflict("This app is not stopped.")
    release = _require_runnable(app)
    audit_as(actor, "app.started", tenant=tenant, target=app)
    return _deployment_queue(
        app=app, tenant=tenant, actor=actor, kind=DeploymentKind.START, release=release
    )
