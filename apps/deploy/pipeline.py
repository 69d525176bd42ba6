"""The deploy pipeline: one deployment, step by step, recorded as it goes.

    queued → fetching → building → releasing → starting → verifying → switching → live
                                                                      ↘ failed | canceled

`deploy` deployments go through every step; the others (config change, rollback, restart, scale,
start) reuse a build and start at `releasing`, which runs the release's `release:` command if it
has not run yet. Until `switching` nothing the app serves has changed, so a failure (or a cancel)
before it only has to stop the new processes. The switch itself replaces the app's stable socket
symlinks (atomic) and then commits the new live deployment; the old processes keep answering for
DEPLOY_DRAIN_S and are then stopped.

Every step writes the deployment's state, the step's timestamps and a heartbeat; long steps keep
writing the heartbeat. A deployment whose heartbeat goes stale (its worker died) is finished or
failed by `deployment_reap`, which the reaper task calls; the reconciler (reconcile.py) then
brings the runtime back to what the database says.

One deployment per app at a time: `App.active_deployment` is the slot, claimed under a row lock;
a deployment that finds it taken stays queued and is started when the holder lets go.

A deployment of a suspended tenant is not started: the API refuses new ones (423) and git pushes
are ignored, but one queued before the suspension (or by a rollback or the reaper) is canceled
when it would be claimed, with nothing fetched or built (`_refuse`)."""

from __future__ import annotations

import functools
import logging
import os
import socket
import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core import crypto
from apps.core.audit import audit_record
from apps.core.metrics import metric_inc
from apps.core.problems import QuotaExceeded
from apps.tenants.models import TenantStatus

from . import events, selectors, services
from .deployment_end import fail_without_runner, now_iso, record_end
from .image_source import image_description, refuse_images_unless_run
from .models import (
    RUNNING_STATES,
    App,
    AppStatus,
    Build,
    BuildKind,
    BuildStatus,
    Deployment,
    DeploymentKind,
    DeploymentLog,
    DeploymentState,
    EnvVar,
    Formation,
    LogStream,
    Release,
    ReleaseStatus,
    SourceKind,
)
from .pipeline_build import BuildSteps, StepFailed
from .redaction import Redactor
from .runtime import RuntimeProblem, get_provider
from .runtime.base import Artefact, ReleaseSpec
from .runtime.git import GitSource

logger = logging.getLogger(__name__)

S = DeploymentState
FULL = [S.FETCHING, S.BUILDING, S.RELEASING, S.STARTING, S.VERIFYING, S.SWITCHING]
REUSE = [S.RELEASING, S.STARTING, S.VERIFYING, S.SWITCHING]
LOG_FLUSH_LINES = 50
LOG_FLUSH_S = 0.5
SUSPENDED_REASON = "The tenant is suspended; nothing was deployed."


class Canceled(Exception):
    pass


def deployment_key(deployment: Deployment) -> str:
    return deployment.pk.hex[:12]


def default_formation(app: App, process_types: dict[str, str]) -> dict[str, int]:
    """The formation a release runs: the app's counts, web=1 for types it never had."""
    current = selectors.formation_get(app=app)
    return {
        ptype: current.get(ptype, 1 if ptype == "web" else 0) for ptype in sorted(process_types)
    }


def spec_for(deployment: Deployment, *, with_env: bool = True) -> ReleaseSpec:
    """What the runtime needs to run (or route to) a deployment's release."""
    release = deployment.release
    build = release.build if release else None
    if release is None or build is None:
        raise StepFailed("This deployment has no built release to run.")
    app = deployment.app
    tenant = services.current_tenant()
    needs = Artefact.from_run_needs(build.run_needs)
    # The image: the Build's pinned digest (image sources, in-cluster builds), else run_needs.
    needs["image"] = build.image or needs.get("image", "")
    return ReleaseSpec(
        app_key=app.pk.hex,
        deployment_key=deployment_key(deployment),
        hostname=selectors.app_hostname(app=app, tenant_slug=tenant.slug),
        artefact=Artefact(
            kind=build.kind,
            source_dir=build.source_dir,
            venv_dir=build.venv_dir,
            process_types=release.process_types,
            release_command=release.release_command,
            **needs,
        ),
        env=services.release_config(release) if with_env else {},
        formation=deployment.formation or default_formation(app, release.process_types),
        labels={"app": app.name, "release": f"v{release.version}"},
        limits=selectors.resource_limits(tenant=tenant),
        tenant=tenant.slug,
        health_path=app.health_check_path or settings.DEPLOY_HEALTH_PATH,
    )


class Runner(BuildSteps):
    def __init__(self, deployment: Deployment) -> None:
        self.d = deployment
        self.app = deployment.app
        self.tenant = services.current_tenant()
        self.provider = get_provider()
        self.app_key = self.app.pk.hex
        self.key = deployment_key(deployment)
        self.step = ""
        self.switched = False
        self.git: GitSource | None = None  # the app's git URL, parsed when fetched
        self._buffer: list[DeploymentLog] = []
        self._flushed_at = time.monotonic()
        self._beat_at = 0.0
        self._secrets: set[str] = set(services.config_of(self.app).values())
        self.redact = Redactor(self._secrets)

    # --- logging and liveness ----------------------------------------------------------------
    def add_secrets(self, values) -> None:
        values = {v for v in values if v}
        if not values <= self._secrets:
            self._secrets |= values
            self.redact = Redactor(self._secrets)

    def log(self, line: str, stream: str = LogStream.SYSTEM) -> None:
        self._buffer.append(
            DeploymentLog(deployment_id=self.d.pk, stream=stream, line=self.redact(line))
        )
        if (
            len(self._buffer) >= LOG_FLUSH_LINES
            or time.monotonic() - self._flushed_at >= LOG_FLUSH_S
        ):
            self.flush()

    def sink(self, stream: str):
        return functools.partial(self.log, stream=stream)

    def flush(self) -> None:
        if self._buffer:
            DeploymentLog.objects.bulk_create(self._buffer)
            self._buffer = []
        self._flushed_at = time.monotonic()

    def tick(self) -> None:
        """Called often during long work: heartbeat, flush, and notice a cancel."""
        if time.monotonic() - self._beat_at < settings.DEPLOY_HEARTBEAT_EVERY_S:
            return
        self._beat_at = time.monotonic()
        self.flush()
        Deployment.objects.filter(pk=self.d.pk).update(heartbeat_at=timezone.now())
        if self.step not in ("", S.SWITCHING) and self._cancel_requested():
            raise Canceled

    def _cancel_requested(self) -> bool:
        return Deployment.objects.filter(pk=self.d.pk, cancel_requested=True).exists()

    def _save(self, *fields: str) -> None:
        self.d.save(update_fields=[*fields, "updated_at"])

    # --- steps -------------------------------------------------------------------------------
    def enter(self, step: str) -> None:
        if step != S.SWITCHING and self._cancel_requested():
            raise Canceled
        self.step = step
        now = timezone.now()
        self.d.state = step
        self.d.steps = {**self.d.steps, step: {"started_at": now_iso()}}
        self.d.heartbeat_at = now
        self._beat_at = time.monotonic()
        self._save("state", "steps", "heartbeat_at")

    def leave(self, step: str) -> None:
        self.d.steps[step]["finished_at"] = now_iso()
        self._save("steps")
        self.flush()

    def run(self) -> None:
        steps = FULL if self.d.kind == DeploymentKind.DEPLOY else REUSE
        self.log(f"Deployment {self.d.pk} ({self.d.kind}) started on {self.d.worker}.")
        try:
            for step in steps:
                self.enter(step)
                getattr(self, f"step_{step}")()
                if step != S.SWITCHING:
                    self.leave(step)
        except Canceled:
            self.abort(S.CANCELED, "Canceled on request; the previous release keeps serving.")
        except StepFailed as exc:
            self.abort(S.FAILED, exc.reason)
        except RuntimeProblem as exc:
            self.abort(S.FAILED, exc.message)
        except Exception as exc:
            logger.exception("Deployment %s failed unexpectedly", self.d.pk)
            self.abort(
                S.FAILED,
                f"Internal error during {self.step or 'setup'} ({type(exc).__name__}); "
                "the previous release keeps serving.",
            )
        else:
            try:
                self.drain()
            except RuntimeProblem as exc:
                self.log(f"Stopping the old processes failed: {exc.message} (the reconciler will).")
        finally:
            self.flush()

    def step_releasing(self) -> None:
        if self.d.kind == DeploymentKind.DEPLOY:
            actor = services.Actor.system(self.d.started_by_label)
            release = services.release_for_build(
                app=self.app,
                build=self.d.build,
                actor=actor,
                description=(
                    f"Deploy {self.d.commit_sha[:8]}"
                    if self.d.commit_sha
                    else image_description(self.d.build)
                ),
            )
            self.d.release = release
            self._save("release")
        release = self.d.release
        if release is None or release.build_id is None:
            raise StepFailed("There is no built release to deploy: deploy from git first.")
        if release.build.kind == BuildKind.IMAGE:
            refuse_images_unless_run(self.provider, SourceKind.IMAGE)
        self.log(f"Release v{release.version}: {release.description}")
        spec = spec_for(self.d)
        self.add_secrets(spec.env.values())
        if release.status == ReleaseStatus.FAILED:
            raise StepFailed(f"v{release.version}'s release command failed before.")
        if release.status == ReleaseStatus.PENDING:
            if release.release_command:
                self.log(f"Running the release command: {release.release_command}")
                status = self.provider.run(
                    spec,
                    release.release_command,
                    log=self.sink(LogStream.RELEASE),
                    tick=self.tick,
                    timeout_s=settings.DEPLOY_RELEASE_TIMEOUT_S,
                )
                if status != 0:
                    Release.objects.filter(pk=release.pk).update(status=ReleaseStatus.FAILED)
                    raise StepFailed(
                        f"The release command exited with status {status}; nothing was changed."
                    )
            Release.objects.filter(pk=release.pk).update(status=ReleaseStatus.SUCCEEDED)
            release.status = ReleaseStatus.SUCCEEDED

    def step_starting(self) -> None:
        release = self.d.release
        formation = self.d.formation or default_formation(self.app, release.process_types)
        try:
            services.check_process_quota(app=self.app, tenant=self.tenant, formation=formation)
        except QuotaExceeded as exc:
            raise StepFailed(exc.detail) from exc
        self.d.formation = formation
        self._save("formation")
        spec = spec_for(self.d)
        summary = ", ".join(f"{k}={v}" for k, v in formation.items()) or "no processes"
        self.log(f"Starting {summary} of v{release.version}.")
        self.provider.ensure_ready(wait_s=15)
        self.d.runtime = self.provider.start(spec)
        self._save("runtime")

    def step_verifying(self) -> None:
        spec = spec_for(self.d)
        path = self.app.health_check_path or settings.DEPLOY_HEALTH_PATH
        result = self.provider.health(
            spec,
            path=path,
            passes=settings.DEPLOY_HEALTH_PASSES,
            timeout_s=settings.DEPLOY_HEALTH_TIMEOUT_S,
            tick=self.tick,
        )
        if not result.ok:
            for line in self.provider.logs(self.app_key, deployment_key=self.key, lines=30):
                self.log(line, LogStream.RUNTIME)
            raise StepFailed(
                f"Health check failed: {result.detail}. The previous release keeps serving."
            )
        self.log(f"Health check passed: {result.detail} of GET {path}.")

    def step_switching(self) -> None:
        spec = spec_for(self.d)
        previous = App.objects.filter(pk=self.app.pk).values_list("live_deployment", flat=True)[0]
        self.provider.route(spec)
        try:
            self.commit_switch()
        except Exception:
            self.restore_route(previous)
            raise
        self.switched = True
        self.log(f"Live: v{self.d.release.version} serves {spec.hostname}.")
        try:
            services.routes_sync_quietly()
            self.provider.unroute_extra(self.app_key, spec.web_count)
        except Exception:
            logger.exception("Updating the router after deployment %s failed", self.d.pk)
            self.log("Updating the router failed; the reconciler will retry.")
        self.flush()

    @transaction.atomic
    def commit_switch(self) -> None:
        app = App.objects.select_for_update().get(pk=self.app.pk)
        release = self.d.release
        app.live_deployment = self.d
        app.current_release = release
        app.status = AppStatus.RUNNING
        app.save(update_fields=["live_deployment", "current_release", "status", "updated_at"])
        for process_type, count in self.d.formation.items():
            Formation.objects.update_or_create(
                app=app, process_type=process_type, defaults={"count": count}
            )
        Formation.objects.filter(app=app).exclude(process_type__in=list(self.d.formation)).delete()
        if self.d.kind == DeploymentKind.ROLLBACK:
            self._env_vars_from(release)
        now = timezone.now()
        self.d.steps.setdefault(S.SWITCHING, {"started_at": now_iso()})["finished_at"] = now_iso()
        self.d.steps[S.LIVE] = {"started_at": now_iso()}
        self.d.state = S.LIVE
        self.d.finished_at = now
        self._save("state", "steps", "finished_at")
        audit_record(
            action="deployment.succeeded",
            tenant=self.tenant,
            target=self.d,
            metadata={"app": app.name, "release": release.version, "kind": self.d.kind},
        )
        events.deployment_event("deployment.succeeded", self.d, tenant=self.tenant)

    def _env_vars_from(self, release: Release) -> None:
        """A rollback brings the old config back as the app's env vars too."""

        config = services.release_config(release)
        EnvVar.objects.filter(app=self.app).exclude(key__in=list(config)).delete()
        for key, value in config.items():
            EnvVar.objects.update_or_create(
                app=self.app, key=key, defaults={"value_encrypted": crypto.encrypt(value)}
            )

    def restore_route(self, previous_id) -> None:
        if previous_id is None:
            return
        previous = Deployment.objects.select_related("release__build", "app").get(pk=previous_id)
        try:
            self.provider.route(spec_for(previous, with_env=False))
        except (RuntimeProblem, StepFailed) as exc:
            self.log(f"Could not route back to the previous release: {exc}")

    def drain(self) -> None:
        """Give the old processes DEPLOY_DRAIN_S to answer what they were sent, then stop them."""
        self.d.steps["draining"] = {"started_at": now_iso()}
        self._save("steps")
        deadline = time.monotonic() + settings.DEPLOY_DRAIN_S
        while time.monotonic() < deadline:
            self.tick()
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        self.stop_others()
        self.d.steps["draining"]["finished_at"] = now_iso()
        self._save("steps")

    def stop_others(self) -> None:
        """Stop every deployment of this app the runtime still runs, except the live one."""
        for app_key, key in sorted(self.provider.program_keys()):
            if app_key == self.app_key and key != self.key:
                self.provider.stop(app_key, key)
                self.log(f"Stopped the processes of deployment {key}.")

    def abort(self, state: str, reason: str) -> None:
        self.log(reason)
        if self.switched:  # live already: what failed after the switch is the reconciler's
            return
        failed_step = self.step
        try:
            self.provider.stop(self.app_key, self.key)
            if self.provider.routed_to(self.app_key) == self.key:
                live = App.objects.filter(pk=self.app.pk).values_list("live_deployment", flat=True)[
                    0
                ]
                self.restore_route(live)
        except RuntimeProblem as exc:
            self.log(f"Cleaning up failed: {exc.message} (the reconciler will retry).")
        if self.d.build_id and failed_step in (S.FETCHING, S.BUILDING):
            Build.objects.filter(pk=self.d.build_id, status=BuildStatus.BUILDING).update(
                status=BuildStatus.FAILED
            )
            build = Build.objects.get(pk=self.d.build_id)
            if build.source_dir:
                self.provider.delete_build(build.source_dir)
        with transaction.atomic():  # the final state, its audit row and its event together
            self._record_end(state, failed_step, reason)

    def _record_end(self, state: str, failed_step: str, reason: str) -> None:
        record_end(self.d, self.tenant, state, failed_step, reason)


def _refuse(deployment: Deployment, app: App, reason: str) -> None:
    """Cancel a queued deployment that must not run (its tenant is suspended), in the claim's
    transaction: nothing is fetched or built, the app keeps its status and live deployment, the
    slot is let go if this deployment held it, and the app's next queued deployment is sent
    once this commits (it is refused in turn while the tenant stays suspended)."""
    DeploymentLog.objects.create(deployment=deployment, stream=LogStream.SYSTEM, line=reason)
    record_end(deployment, services.current_tenant(), S.CANCELED, "", reason, app_failed=False)
    if app.active_deployment_id == deployment.pk:
        app.active_deployment = None
        app.save(update_fields=["active_deployment", "updated_at"])
    metric_inc("quayside_deployments_total", outcome=S.CANCELED)
    transaction.on_commit(functools.partial(start_next, app.pk))


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _claim(deployment_id) -> Deployment | None:
    """Take the app's deployment slot for this deployment and mark it started, or None when it
    must wait (another deployment holds the slot), is done, another worker runs it, or it was
    canceled here (cancel requested, or its tenant is suspended)."""
    with transaction.atomic():
        deployment = (
            Deployment.objects.select_for_update(of=("self",))
            .select_related("app")
            .filter(pk=deployment_id)
        ).first()
        if deployment is None or deployment.is_final or deployment.state in RUNNING_STATES:
            return None
        app = App.objects.select_for_update().get(pk=deployment.app_id)
        if selectors.tenant_status() == TenantStatus.SUSPENDED:
            # Read after the app's lock, like the reconciler. No need to wait for the slot:
            # this one will not run.
            _refuse(deployment, app, SUSPENDED_REASON)
            return None
        if app.active_deployment_id not in (None, deployment.pk):
            return None
        if deployment.cancel_requested:
            services._cancel_queued(deployment)
            return None
        app.active_deployment = deployment
        app.save(update_fields=["active_deployment", "updated_at"])
        deployment.app = app
        deployment.started_at = timezone.now()
        deployment.heartbeat_at = deployment.started_at
        deployment.worker = _worker_name()
        deployment.save(update_fields=["started_at", "heartbeat_at", "worker", "updated_at"])
        events.deployment_event("deployment.started", deployment)
        return deployment


def _release_slot(deployment: Deployment) -> None:
    App.objects.filter(pk=deployment.app_id, active_deployment=deployment).update(
        active_deployment=None
    )
    start_next(deployment.app_id)


def start_next(app_id) -> None:
    """Send the app's oldest queued deployment, now that the app is free."""
    following = (
        Deployment.objects.filter(app_id=app_id, state=S.QUEUED).order_by("created_at").first()
    )
    if following is not None:
        services.enqueue_deployment(following.pk)


def deployment_execute(deployment_id) -> str:
    """Run a deployment from its claim to live/failed/canceled; its final state (or why not)."""
    deployment = _claim(deployment_id)
    if deployment is None:
        current = Deployment.objects.filter(pk=deployment_id).values_list("state", flat=True)
        return f"not run ({current.first() or 'missing'})"
    try:
        try:
            runner = Runner(deployment)
        except Exception as exc:
            logger.exception("Deployment %s could not start", deployment.pk)
            fail_without_runner(deployment, exc, what="The deployment could not start")
        else:
            runner.run()
    finally:
        _release_slot(deployment)
    metric_inc("quayside_deployments_total", outcome=deployment.state)
    return deployment.state


def deployment_reap(deployment_id) -> str:
    """Finish or fail a running deployment whose worker died. Finished when traffic had already
    been switched to it (only the bookkeeping was lost); failed otherwise, and its processes are
    stopped. Idempotent."""
    with transaction.atomic():
        deployment = (
            Deployment.objects.select_for_update(of=("self",))
            .select_related("app", "release__build")
            .filter(pk=deployment_id, state__in=RUNNING_STATES)
            .first()
        )
        if deployment is None:
            return "gone"
        stolen_state = deployment.state
        # Take the deployment over: a late worker that wakes up finds a fresh heartbeat of ours.
        deployment.heartbeat_at = timezone.now()
        deployment.worker = f"reaper@{_worker_name()}"
        deployment.save(update_fields=["heartbeat_at", "worker", "updated_at"])
    try:
        runner = Runner(deployment)
    except Exception as exc:
        logger.exception("Reaping deployment %s failed", deployment.pk)
        try:
            fail_without_runner(
                deployment,
                exc,
                what=f"The worker running this deployment stopped during {stolen_state}, "
                "and it cannot be cleaned up (the reconciler will)",
            )
        finally:
            _release_slot(deployment)
        metric_inc("quayside_deployments_total", outcome=S.FAILED)
        return S.FAILED
    runner.step = stolen_state
    try:
        routed = runner.provider.routed_to(runner.app_key)
        if stolen_state == S.SWITCHING and routed == runner.key:
            runner.commit_switch()
            runner.switched = True
            services.routes_sync_quietly()
            runner.log("Its worker stopped after the switch: the reaper finished the deployment.")
            runner.stop_others()
            result = S.LIVE
        else:
            runner.abort(
                S.FAILED,
                f"The worker running this deployment stopped during {stolen_state}; "
                "the previous release keeps serving.",
            )
            result = S.FAILED
    finally:
        runner.flush()
        _release_slot(deployment)
    metric_inc("quayside_deployments_total", outcome=result)
    return result
