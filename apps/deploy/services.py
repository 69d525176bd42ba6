"""Writes of the deploy app: one use case per function, keyword-only, in one transaction, audited.

The long work (fetch, build, start, switch) is the pipeline's (pipeline.py), run by a Celery task
that services enqueue after their transaction commits. Runs in the current tenant's schema; the
`tenant` argument is the Tenant the request or task was routed to."""

from __future__ import annotations

import functools
import json
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.core import crypto
from apps.core.audit import audit_record
from apps.core.inbox import inbox_send
from apps.core.locks import advisory_xact_lock
from apps.core.net import BlockedTarget, Unresolved
from apps.core.problems import Conflict, InvalidInput, QuotaExceeded
from apps.tenants.models import Membership, Role, Tenant
from apps.tenants.selectors import tenant_limit

from . import events, quota, selectors
from .models import (
    RUNNING_STATES,
    App,
    AppDomain,
    AppStatus,
    Deployment,
    DeploymentKind,
    DeploymentState,
    DomainStatus,
    EnvVar,
    Release,
    ReleaseStatus,
)
from .redaction import Redactor
from .runtime import RuntimeProblem, get_provider
from .runtime.git import (
    REMOTE_SCHEMES,
    GitSource,
    display_url,
    parse_git_url,
    remote_address,
    validate_ref,
)

logger = logging.getLogger(__name__)

# Used with fullmatch (and \Z in lookaheads): `$` also matches before a final newline.
APP_NAME = re.compile(r"[a-z][a-z0-9-]{0,28}[a-z0-9]")
ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")
RESERVED_ENV_KEYS = frozenset({"PORT", "HOME", "PATH", "QUAYSIDE_SOCKET", "VIRTUAL_ENV"})
# A DNS label (`<name>-<tenant slug>` of an app's default hostname) is at most 63 characters.
DNS_LABEL_MAX = 63
HOSTNAME = re.compile(r"(?=.{4,253}\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
# Printable ASCII without spaces, starting with "/" (what a URL path may carry unencoded).
HEALTH_PATH = re.compile(r"/[\x21-\x7e]{0,199}")
MAX_ENV_VALUE = 32 * 1024
MAX_PROCESSES_PER_TYPE = 50
# Runtime logs are redacted with the configs of this many latest releases (besides the live one).
LOG_SECRET_RELEASES = 10


@dataclass(frozen=True)
class Actor:
    """Who acts: a user, an API key acting for a tenant, or nobody (a task, a git webhook)."""

    user: Any = None
    api_key: Any = None
    label_override: str = ""

    @property
    def user_id(self):
        user = self.user
        return user.pk if user is not None and getattr(user, "is_authenticated", False) else None

    @property
    def label(self) -> str:
        if self.label_override:
            return self.label_override
        if self.api_key is not None:
            return str(self.api_key)[:255]
        if self.user_id is not None:
            return (getattr(self.user, "email", "") or str(self.user))[:255]
        return ""


SYSTEM = Actor(label_override="quayside")


def _audit(action: str, *, actor: Actor, tenant, target=None, **metadata) -> None:
    audit_record(
        action=action,
        actor=actor.user,
        api_key=actor.api_key,
        tenant=tenant,
        target=target,
        metadata=metadata,
    )


def current_tenant():
    """The Tenant of the schema in use (requests and tasks both set it on the connection)."""
    tenant = getattr(connection, "tenant", None)
    if tenant is not None and getattr(tenant, "slug", None):
        return tenant
    from apps.tenants.models import Tenant

    return Tenant.objects.get(schema_name=connection.schema_name)


def enqueue_deployment(deployment_id) -> None:
    """Send the pipeline task (in the current schema). Tests replace this to run it inline.
    Runs after commit: a broker that is down must not turn the committed request into a 500;
    the deployment stays queued and the reaper (deployments_stuck_queued) sends it later."""
    from .tasks import deployment_run

    try:
        deployment_run.delay(str(deployment_id))
    except Exception:
        logger.exception("Could not enqueue deployment %s; the reaper will", deployment_id)


def enqueue_reconcile(app_id) -> None:
    from .tasks import app_reconcile_task

    try:
        app_reconcile_task.delay(str(app_id))
    except Exception:  # the periodic reconciler visits every app anyway
        logger.exception("Could not enqueue reconciling app %s", app_id)


def routes_sync_quietly() -> bool:
    """Push the host table to the router; a runtime that is down is not the caller's problem
    (the reconciler pushes it again)."""
    try:
        return get_provider().sync_routes(selectors.routes_desired())
    except RuntimeProblem as exc:
        logger.warning("Could not update the router: %s", exc.message)
        return False


# --- Apps ---------------------------------------------------------------------------------
def _validate_name(name: str) -> str:
    name = (name or "").strip().lower()
    if not APP_NAME.fullmatch(name) or "--" in name:
        raise InvalidInput(
            "Use 2 to 30 lower-case letters, digits and single hyphens, starting with a letter.",
            field="name",
        )
    return name


def git_allow_local() -> bool:
    return settings.DEPLOY_ALLOW_LOCAL_GIT or settings.DEBUG


def git_source(url: str) -> GitSource:
    """`url` parsed under the operator's rules (DEPLOY_GIT_ALLOWED_SCHEMES, local
    repositories); raises ValueError with a message for people."""
    return parse_git_url(
        url, allow_local=git_allow_local(), schemes=settings.DEPLOY_GIT_ALLOWED_SCHEMES
    )


def _git_fields(git_url: str) -> dict[str, str]:
    """The columns for a new git URL. Its host is resolved now and must be one outbound
    connections may reach (apps.core.net): a URL pointing at our own network is refused when
    saved, not only when fetched. A name that does not resolve yet passes; the fetch resolves
    it again (and connects to the address it checked)."""
    if not git_url:
        return {"git_url_display": "", "git_url_encrypted": ""}
    try:
        source = git_source(git_url)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="git_url") from exc
    shown = display_url(git_url)
    limit = App._meta.get_field("git_url_display").max_length
    if len(git_url) > limit or len(shown) > limit:
        raise InvalidInput(
            f"The git URL is too long: at most {limit} characters, credentials included "
            "(they are shown as ***).",
            field="git_url",
        )
    try:
        remote_address(source)
    except Unresolved:
        pass
    except BlockedTarget as exc:
        raise InvalidInput(
            f"{exc} Git repositories cannot be fetched from there.", field="git_url", code="blocked"
        ) from exc
    return {"git_url_display": shown, "git_url_encrypted": crypto.encrypt(git_url)}


def _validate_branch(branch: str) -> str:
    try:
        return validate_ref(branch or "main")
    except ValueError as exc:
        raise InvalidInput(str(exc), field="branch") from exc


def _validate_health_path(path: str) -> str:
    path = (path or "").strip()
    if path and not HEALTH_PATH.fullmatch(path):
        raise InvalidInput(
            "A path such as /healthz: up to 200 printable ASCII characters, no spaces.",
            field="health_check_path",
        )
    return path


@transaction.atomic
def app_create(
    *,
    tenant,
    actor: Actor,
    name: str,
    git_url: str = "",
    branch: str = "main",
    health_check_path: str = "",
) -> tuple[App, str]:
    """A new app and its webhook secret (returned this once)."""
    name = _validate_name(name)
    label = f"{name}-{tenant.slug}"
    if len(label) > DNS_LABEL_MAX:
        longest = DNS_LABEL_MAX - len(tenant.slug) - 1
        raise InvalidInput(
            f"The app's hostname label '{label}' would be {len(label)} characters; DNS allows "
            f"at most {DNS_LABEL_MAX}. With this team's slug '{tenant.slug}', use a name of at "
            f"most {longest} characters.",
            field="name",
            code="too_long",
        )
    hostname = f"{label}.{settings.APPS_DOMAIN}"
    quota.check_app_quota(tenant=tenant)
    if App.objects.filter(name=name).exists():
        raise InvalidInput(f"There is already an app called '{name}'.", field="name", code="taken")
    if selectors.hostname_taken(hostname):
        raise InvalidInput(
            f"{hostname} is already taken by another app; choose another name.",
            field="name",
            code="taken",
        )
    webhook_secret = secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            app = App.objects.create(
                name=name,
                branch=_validate_branch(branch),
                health_check_path=_validate_health_path(health_check_path),
                webhook_secret_encrypted=crypto.encrypt(webhook_secret),
                created_by_id=actor.user_id,
                **_git_fields(git_url),
            )
    except IntegrityError as exc:
        raise InvalidInput(f"There is already an app called '{name}'.", field="name") from exc
    _audit("app.created", actor=actor, tenant=tenant, target=app, name=name)
    events.app_event("app.created", app, tenant=tenant)
    return app, webhook_secret


@transaction.atomic
def app_update(*, app: App, tenant, actor: Actor, **changes) -> App:
    fields: dict[str, Any] = {}
    if "git_url" in changes:
        fields.update(_git_fields(changes["git_url"]))
    if "branch" in changes:
        fields["branch"] = _validate_branch(changes["branch"])
    if "health_check_path" in changes:
        fields["health_check_path"] = _validate_health_path(changes["health_check_path"])
    for key, value in fields.items():
        setattr(app, key, value)
    if fields:
        app.save(update_fields=[*fields, "updated_at"])
        changed = sorted(k.replace("_encrypted", "").replace("_display", "") for k in fields)
        _audit("app.updated", actor=actor, tenant=tenant, target=app, fields=sorted(set(changed)))
    return app


@transaction.atomic
def app_delete(*, app: App, tenant, actor: Actor) -> None:
    app = App.objects.select_for_update().get(pk=app.pk)
    if app.active_deployment_id is not None:
        raise Conflict("A deployment of this app is running: cancel it first.")
    app_key = app.pk.hex
    name = app.name
    _audit("app.deleted", actor=actor, tenant=tenant, target=app, name=name)
    events.app_event("app.deleted", app, tenant=tenant)
    app.delete()
    transaction.on_commit(functools.partial(_runtime_forget, app_key))


def _runtime_forget(app_key: str) -> None:
    try:
        get_provider().remove_app(app_key)
    except RuntimeProblem as exc:
        logger.warning("Could not remove app %s from the runtime: %s", app_key, exc.message)
    routes_sync_quietly()


@transaction.atomic
def webhook_secret_rotate(*, app: App, tenant, actor: Actor) -> str:
    secret = secrets.token_urlsafe(32)
    app.webhook_secret_encrypted = crypto.encrypt(secret)
    app.save(update_fields=["webhook_secret_encrypted", "updated_at"])
    _audit("app.webhook_secret_rotated", actor=actor, tenant=tenant, target=app)
    return secret


def webhook_secret(app: App) -> str:
    return crypto.decrypt(app.webhook_secret_encrypted) if app.webhook_secret_encrypted else ""


def git_url(app: App) -> str:
    return crypto.decrypt(app.git_url_encrypted) if app.git_url_encrypted else ""


# --- Config -------------------------------------------------------------------------------
def config_of(app: App) -> dict[str, str]:
    """The app's env vars now, decrypted (for a new release's snapshot)."""
    return {
        var.key: crypto.decrypt(var.value_encrypted)
        for var in EnvVar.objects.filter(app=app).order_by("key")
    }


def release_config(release: Release) -> dict[str, str]:
    return json.loads(crypto.decrypt(release.config_encrypted))


def git_credentials(app: App) -> list[str]:
    """The secret parts of the app's git URL, the very set build logs are redacted of
    (GitSource.secrets, which the pipeline adds when it fetches): its user and password
    (`https://<token>@host/…` included) and its query's values (`?private_token=…`); an ssh
    user (`git@…`) is no secret. Parsed under every protocol git may know, not only those the
    operator allows now: a URL saved before the setting changed is still redacted."""
    try:
        source = parse_git_url(git_url(app), allow_local=True, schemes=REMOTE_SCHEMES)
    except ValueError:
        return []
    return source.secrets


def log_secrets(app: App) -> set[str]:
    """Every secret an app's processes may print, for redacting their output: the env vars now;
    the config of the live release, of a deployment in progress and of the latest
    LOG_SECRET_RELEASES releases (processes still draining, or running on after a var was
    changed or unset without a restart, print the old value); the git URL's secrets, as build
    logs have them (git_credentials)."""
    values = set(config_of(app).values())
    recent = Release.objects.filter(app=app).order_by("-version").values("pk")
    deployments = [pk for pk in (app.live_deployment_id, app.active_deployment_id) if pk]
    releases = (
        Release.objects.filter(app=app)
        .filter(Q(pk__in=recent[:LOG_SECRET_RELEASES]) | Q(deployments__pk__in=deployments))
        .only("pk", "config_encrypted")
        .distinct()
    )
    for release in releases:
        values.update(release_config(release).values())
    values.update(git_credentials(app))
    return {value for value in values if value}


def app_runtime_logs(*, app: App, lines: int) -> list[str]:
    """Recent output of the app's processes, every secret they may print redacted; nothing when
    the runtime does not answer."""
    redact = Redactor(log_secrets(app))
    try:
        output = get_provider().logs(app.pk.hex, lines=lines)
    except RuntimeProblem:
        return []
    return [redact(line) for line in output]


def _release_make(
    *,
    app: App,
    actor: Actor,
    build=None,
    config: dict[str, str],
    process_types: dict[str, str],
    release_command: str,
    description: str,
    status: str = ReleaseStatus.PENDING,
    rollback_of: Release | None = None,
) -> Release:
    App.objects.select_for_update().filter(pk=app.pk).first()  # serialises version numbers
    return Release.objects.create(
        app=app,
        version=selectors.release_next_version(app=app),
        build=build,
        config_encrypted=crypto.encrypt(json.dumps(config, sort_keys=True)),
        config_keys=sorted(config),
        process_types=process_types,
        release_command=release_command,
        description=description[:255],
        status=status,
        rollback_of=rollback_of,
        created_by_id=actor.user_id,
        created_by_label=actor.label,
    )


def release_for_build(*, app: App, build, actor: Actor, description: str) -> Release:
    """The release a deploy makes: the new build with the config as it is now."""
    with transaction.atomic():
        return _release_make(
            app=app,
            actor=actor,
            build=build,
            config=config_of(app),
            process_types=build.process_types,
            release_command=build.release_command,
            description=description,
        )


def release_latest_runnable(app: App) -> Release | None:
    """What a restart runs: the newest release with a build that did not fail."""
    return (
        Release.objects.filter(app=app, build__isnull=False)
        .exclude(status=ReleaseStatus.FAILED)
        .select_related("build")
        .order_by("-version")
        .first()
    )


@transaction.atomic
def env_vars_update(
    *, app: App, tenant, actor: Actor, changes: dict[str, str | None], restart: bool = True
) -> tuple[Release, Deployment | None]:
    """Set (a string) and unset (None) env vars in one go; a new release with the new config,
    deployed at once when `restart` and the app has a build."""
    if not changes:
        raise InvalidInput("Name at least one variable to set or unset.", field="vars")
    app = App.objects.select_for_update().get(pk=app.pk)
    for key, value in changes.items():
        if not ENV_KEY.fullmatch(key):
            if value is None and EnvVar.objects.filter(app=app, key=key).exists():
                continue  # a name stored before names were checked to their end may be unset
            raise InvalidInput(f"{key!r} is not a valid variable name.", field=f"vars.{key}")
        if key in RESERVED_ENV_KEYS or key.startswith("QUAYSIDE_"):
            raise InvalidInput(f"{key} is set by Quayside itself.", field=f"vars.{key}")
        if value is not None and (not isinstance(value, str) or len(value) > MAX_ENV_VALUE):
            raise InvalidInput("Values are strings of at most 32 KiB.", field=f"vars.{key}")
    for key, value in sorted(changes.items()):
        if value is None:
            EnvVar.objects.filter(app=app, key=key).delete()
        else:
            EnvVar.objects.update_or_create(
                app=app, key=key, defaults={"value_encrypted": crypto.encrypt(value)}
            )
    set_keys = sorted(k for k, v in changes.items() if v is not None)
    unset_keys = sorted(k for k, v in changes.items() if v is None)
    description = "; ".join(
        part
        for part in (
            f"Set {', '.join(set_keys)}" if set_keys else "",
            f"Unset {', '.join(unset_keys)}" if unset_keys else "",
        )
        if part
    )
    base = release_latest_runnable(app)
    release = _release_make(
        app=app,
        actor=actor,
        build=base.build if base else None,
        config=config_of(app),
        process_types=base.process_types if base else {},
        release_command=base.release_command if base else "",
        description=description,
        status=ReleaseStatus.PENDING if base else ReleaseStatus.SUCCEEDED,
    )
    _audit(
        "env_vars.updated",
        actor=actor,
        tenant=tenant,
        target=app,
        set=set_keys,
        unset=unset_keys,
        release=release.version,
    )
    deployment = None
    if restart and base is not None and app.live_deployment_id is not None:
        deployment = _deployment_queue(
            app=app, tenant=tenant, actor=actor, kind=DeploymentKind.CONFIG, release=release
        )
    return release, deployment


def env_var_reveal(*, app: App, key: str, tenant, actor: Actor) -> str:
    var = EnvVar.objects.filter(app=app, key=key).first()
    if var is None:
        from rest_framework.exceptions import NotFound

        raise NotFound(f"No variable called {key}.")
    _audit("env_var.revealed", actor=actor, tenant=tenant, target=app, key=key)
    return crypto.decrypt(var.value_encrypted)


# --- Deployments --------------------------------------------------------------------------
def _deployment_queue(
    *,
    app: App,
    tenant,
    actor: Actor,
    kind: str,
    ref: str = "",
    release: Release | None = None,
    formation: dict[str, int] | None = None,
    cancel_running: bool = False,
    source: str = "api",
) -> Deployment:
    deployment = Deployment.objects.create(
        app=app,
        kind=kind,
        ref=ref,
        release=release,
        formation=formation or {},
        started_by_id=actor.user_id,
        started_by_label=actor.label,
    )
    if cancel_running:
        superseded = Deployment.objects.filter(app=app).exclude(pk=deployment.pk)
        for other in superseded.filter(state=DeploymentState.QUEUED):
            _cancel_queued(other)
        running = superseded.filter(state__in=RUNNING_STATES).exclude(
            state=DeploymentState.SWITCHING
        )
        running.update(cancel_requested=True)
    _audit(
        "deployment.created",
        actor=actor,
        tenant=tenant,
        target=deployment,
        app=app.name,
        kind=kind,
        ref=ref,
        source=source,
    )
    transaction.on_commit(functools.partial(enqueue_deployment, deployment.pk))
    return deployment


def _cancel_queued(deployment: Deployment) -> None:
    now = timezone.now()
    deployment.state = DeploymentState.CANCELED
    deployment.finished_at = now
    deployment.failure_reason = "Canceled before it started."
    deployment.save(update_fields=["state", "finished_at", "failure_reason", "updated_at"])
    events.deployment_event("deployment.canceled", deployment)


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
    if not app.git_url_encrypted:
        raise Conflict("This app has no git URL to deploy from: set git_url first.")
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
    _audit("deployment.canceled", actor=actor, tenant=tenant, target=deployment)
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
    _audit(
        "release.rolled_back", actor=actor, tenant=tenant, target=app, to=release.version,
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
    _audit("app.scaled", actor=actor, tenant=tenant, target=app, formation=merged)
    return _deployment_queue(
        app=app,
        tenant=tenant,
        actor=actor,
        kind=DeploymentKind.SCALE,
        release=release,
        formation=merged,
    )


@transaction.atomic
def app_stop(*, app: App, tenant, actor: Actor) -> App:
    app = App.objects.select_for_update().get(pk=app.pk)
    if app.active_deployment_id is not None:
        raise Conflict("A deployment of this app is running: wait for it or cancel it.")
    if app.live_deployment_id is None:
        raise Conflict("This app has not been deployed yet.")
    app.status = AppStatus.STOPPED
    app.save(update_fields=["status", "updated_at"])
    _audit("app.stopped", actor=actor, tenant=tenant, target=app)
    transaction.on_commit(functools.partial(enqueue_reconcile, app.pk))
    return app


@transaction.atomic
def app_start(*, app: App, tenant, actor: Actor) -> Deployment:
    app = App.objects.select_for_update().get(pk=app.pk)
    if app.status != AppStatus.STOPPED:
        raise Conflict("This app is not stopped.")
    release = _require_runnable(app)
    _audit("app.started", actor=actor, tenant=tenant, target=app)
    return _deployment_queue(
        app=app, tenant=tenant, actor=actor, kind=DeploymentKind.START, release=release
    )


# --- Domains ------------------------------------------------------------------------------
def domain_record_name(domain: AppDomain) -> str:
    return f"_quayside.{domain.hostname}"


def domain_record_value(domain: AppDomain) -> str:
    return f"quayside-verification={domain.verification_token}"


def _hostname_lock(hostname: str) -> None:
    """Serialise the claims on a custom hostname across tenants until the transaction ends.
    Each tenant's domains live in its own schema, so no unique index spans them: adding and
    verifying take this lock, then look at every schema (selectors.domain_claims)."""
    advisory_xact_lock(f"quayside.domain:{hostname}")


@transaction.atomic
def domain_add(*, app: App, tenant, actor: Actor, hostname: str) -> AppDomain:
    """A pending claim on `hostname`. Other tenants may hold pending claims on it too (a
    pending domain takes nothing, so nobody can squat one): the first to verify it gets it. A
    hostname verified by anyone, or claimed already in this tenant, is refused, and so is one
    more claim beyond the tenant's `custom_domains` limit (pending claims count)."""
    hostname = (hostname or "").strip().lower().rstrip(".")
    if not HOSTNAME.fullmatch(hostname):
        raise InvalidInput("That is not a hostname such as www.example.com.", field="hostname")
    for reserved in (settings.APPS_DOMAIN, settings.BASE_DOMAIN):
        if hostname == reserved or hostname.endswith("." + reserved):
            raise InvalidInput(f"Hostnames under {reserved} are Quayside's.", field="hostname")
    quota.check_domain_quota(tenant=tenant)  # its lock first, then the hostname's (always)
    _hostname_lock(hostname)
    if AppDomain.objects.filter(hostname=hostname).exists() or selectors.hostname_taken(hostname):
        raise InvalidInput(f"{hostname} is already in use.", field="hostname", code="taken")
    try:
        with transaction.atomic():
            domain = AppDomain.objects.create(
                app=app, hostname=hostname, verification_token=secrets.token_hex(16)
            )
    except IntegrityError as exc:
        raise InvalidInput(f"{hostname} is already in use.", field="hostname") from exc
    _audit("domain.added", actor=actor, tenant=tenant, target=app, hostname=hostname)
    return domain


def _txt_values(name: str) -> list[str]:
    import dns.exception
    import dns.nameserver
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=not settings.DEPLOY_DNS_NAMESERVERS)
    if settings.DEPLOY_DNS_NAMESERVERS:
        servers = []
        for entry in settings.DEPLOY_DNS_NAMESERVERS:  # "host" or "host:port" (IPv4)
            host, _, port = entry.partition(":") if entry.count(":") == 1 else (entry, "", "")
            servers.append(dns.nameserver.Do53Nameserver(host, int(port or 53)))
        resolver.nameservers = servers
    resolver.lifetime = settings.DEPLOY_DNS_TIMEOUT_S
    try:
        answer = resolver.resolve(name, "TXT")
    except dns.resolver.NXDOMAIN as exc:
        raise LookupError(f"{name} does not exist.") from exc
    except dns.resolver.NoAnswer as exc:
        raise LookupError(f"{name} has no TXT record.") from exc
    except dns.exception.DNSException as exc:
        raise LookupError(f"Looking up {name} failed ({type(exc).__name__}).") from exc
    return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]


def domain_verify(*, domain: AppDomain, tenant, actor: Actor) -> AppDomain:
    """Look for the TXT record; verified domains are routed at once. Not verified: the domain
    says why in `last_error` (also when another tenant verified the hostname first). Verifying
    drops the other tenants' pending claims on the hostname and tells their owners and admins
    (domain.claim_dropped, in their inbox); a claim dropped so answers 409 here."""
    name, expected = domain_record_name(domain), domain_record_value(domain)
    error = ""
    try:
        values = _txt_values(name)
        if expected not in values:
            error = f"{name} has TXT records, but not {expected}."
    except LookupError as exc:
        error = str(exc)
    with transaction.atomic():
        _hostname_lock(domain.hostname)
        current = AppDomain.objects.select_for_update().filter(pk=domain.pk).first()
        if current is None:
            raise Conflict(
                f"{domain.hostname} was verified by another account first; this claim was dropped."
            )
        domain = current
        pending = domain.status != DomainStatus.VERIFIED
        if not error and pending and selectors.hostname_taken(domain.hostname):
            error = f"{domain.hostname} was verified by another account first."
        domain.last_checked_at = timezone.now()
        domain.last_error = error[:255]
        fields = ["last_checked_at", "last_error", "updated_at"]
        if not error and domain.status != DomainStatus.VERIFIED:
            domain.status = DomainStatus.VERIFIED
            domain.verified_at = domain.last_checked_at
            fields += ["status", "verified_at"]
            _audit(
                "domain.verified", actor=actor, tenant=tenant, target=domain.app,
                hostname=domain.hostname,
            )  # fmt: skip
            transaction.on_commit(routes_sync_quietly)
            _domain_claims_drop(domain)
        domain.save(update_fields=fields)
    return domain


def _domain_claims_drop(domain: AppDomain) -> None:
    """Delete the other tenants' pending claims on `domain.hostname`, just verified here (under
    _hostname_lock), and tell each of those tenants' owners and admins."""
    here = connection.schema_name
    for claim in selectors.domain_claims(domain.hostname):
        if claim.schema.schema_name == here or claim.status != DomainStatus.PENDING:
            continue
        quoted = connection.ops.quote_name(claim.schema.schema_name)
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {quoted}.deploy_appdomain WHERE id = %s AND status = %s RETURNING id",
                [claim.domain_id, DomainStatus.PENDING.value],
            )
            if cursor.fetchone() is None:
                continue
        other = Tenant.objects.filter(pk=claim.schema.tenant_id).first()
        audit_record(
            action="domain.claim_dropped",
            tenant=other,
            target_type="deploy.app",
            target_id=str(claim.app_id),
            metadata={"hostname": domain.hostname, "app": claim.app_name},
        )
        body = (
            f"Another Quayside account published the TXT record for {domain.hostname} and "
            f"verified it first, so the pending domain was removed from the app "
            f"'{claim.app_name}'. If you control this hostname, check who else can change its "
            "DNS, then contact support."
        )
        recipients = Membership.objects.filter(
            tenant_id=claim.schema.tenant_id, role__in=[Role.OWNER, Role.ADMIN]
        ).select_related("user")
        for membership in recipients:
            inbox_send(
                user=membership.user,
                kind="domain.claim_dropped",
                title=f"{domain.hostname} was verified by another account",
                body=body,
                tenant=other,
                data={"app_id": str(claim.app_id), "hostname": domain.hostname},
            )


@transaction.atomic
def domain_remove(*, domain: AppDomain, tenant, actor: Actor) -> None:
    was_verified = domain.status == DomainStatus.VERIFIED
    _audit(
        "domain.removed", actor=actor, tenant=tenant, target=domain.app, hostname=domain.hostname
    )
    domain.delete()
    if was_verified:
        transaction.on_commit(routes_sync_quietly)
