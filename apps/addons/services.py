"""Writes of the add-ons app: one use case per function, keyword-only, audited.

Creating an add-on writes its row (status `provisioning`) and hands the server-side work to a
task (tasks.addon_provision_task → `addon_provision`): the database or redis-server is made, the
app's sandbox is told to see its socket (deploy's app_mounts), and its URL is set as an env var
through deploy's services, which makes a release and deploys the app. Rotation makes new
credentials first, deploys them, and drops the old ones only after that deployment is over
(`addon_rotation_finish`), so requests never meet a revoked password."""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import re
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core import crypto
from apps.core.actor import SYSTEM, Actor
from apps.core.audit import audit_as
from apps.core.problems import Conflict, InvalidInput
from apps.deploy import services as deploy_services
from apps.deploy.models import FINAL_STATES, Deployment, DeploymentState
from apps.deploy.runtime import app_mounts

from . import connection, events, selectors
from .engines import postgres as pg_engine
from .engines import redis as redis_engine
from .models import DEFAULT_ENV_VAR, Addon, AddonKind, AddonStatus

logger = logging.getLogger(__name__)
ADDON_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
MAX_ADDONS_PER_APP = 10


def enqueue_provision(addon_id) -> None:
    """Send the provisioning task (in the current schema); tests replace it."""
    from .tasks import addon_provision_task

    try:
        addon_provision_task.delay(str(addon_id))
    except Exception:
        logger.exception("Could not enqueue provisioning of add-on %s", addon_id)


def enqueue_destroy(addon_id) -> None:
    from .tasks import addon_destroy_task

    try:
        addon_destroy_task.delay(str(addon_id))
    except Exception:
        logger.exception("Could not enqueue removal of add-on %s", addon_id)


def enqueue_rotation_finish(addon_id, countdown: float = 5) -> None:
    from .tasks import addon_rotation_finish_task

    try:
        addon_rotation_finish_task.apply_async((str(addon_id),), countdown=countdown)
    except Exception:
        logger.exception("Could not enqueue the end of rotating add-on %s", addon_id)


def _package():
    import sys

    return sys.modules[__name__]


def _secret() -> str:
    return secrets.token_urlsafe(24)


def _validate_env_var(env_var: str) -> None:
    if not deploy_services.ENV_KEY.fullmatch(env_var):
        raise InvalidInput(f"{env_var!r} is not a valid variable name.", field="env_var")
    if env_var in deploy_services.RESERVED_ENV_KEYS or env_var.startswith("QUAYSIDE_"):
        raise InvalidInput(f"{env_var} is set by Quayside itself.", field="env_var")


def _check_provider(app, kind: str) -> None:
    """Off the local runtime (Kubernetes) add-ons live on operator-configured servers only:
    PostgreSQL on ADDONS_POSTGRES_ADMIN_URL; Redis not yet (in-cluster servers come later)."""
    if getattr(app, "provider", "local") == "local":
        return
    if kind == AddonKind.POSTGRES and settings.ADDONS_POSTGRES_ADMIN_URL:
        return
    raise Conflict(
        f"{kind} add-ons for apps on the {app.provider} provider need a server the operator "
        "configures (ADDONS_POSTGRES_ADMIN_URL for PostgreSQL; Redis is not offered there yet)."
    )


@transaction.atomic
def addon_create(
    *, app, tenant, actor: Actor, kind: str, name: str = "", env_var: str = ""
) -> Addon:
    """A new add-on of `app`, provisioned after commit; its URL set as `env_var`
    (DATABASE_URL / REDIS_URL by default) when it is ready."""
    if kind not in AddonKind.values:
        raise InvalidInput("kind is postgres or redis.", field="kind")
    name = name or f"{kind}-{secrets.token_hex(3)}"
    if not ADDON_NAME.fullmatch(name):
        raise InvalidInput(
            "Names are lower-case letters, digits and hyphens (at most 63).", field="name"
        )
    env_var = env_var or DEFAULT_ENV_VAR[kind]
    _validate_env_var(env_var)
    _check_provider(app, kind)
    if Addon.objects.filter(app=app).count() >= MAX_ADDONS_PER_APP:
        raise Conflict(f"An app has at most {MAX_ADDONS_PER_APP} add-ons.")
    if Addon.objects.filter(app=app, name=name).exists():
        raise Conflict(f"The app has an add-on called {name} already.")
    if Addon.objects.filter(app=app, env_var=env_var, attached=True).exists():
        raise Conflict(f"Another add-on of the app sets {env_var}; choose another env_var.")
    addon = Addon(app=app, kind=kind, name=name, env_var=env_var)
    addon.size_mb = selectors.size_limit_mb(tenant=tenant, kind=kind)
    addon.db_name = f"a_{addon.pk.hex}" if kind == AddonKind.POSTGRES else addon.pk.hex
    creds = {"password": _secret()}
    if kind == AddonKind.POSTGRES:
        addon.role_name = creds["user"] = pg_engine.login_role(addon.db_name, 1)
    else:
        creds.update(user="default", admin_password=_secret())
        addon.socket_path = redis_engine.socket_path(addon.db_name)
    addon.server = (
        "external" if settings.ADDONS_POSTGRES_ADMIN_URL and kind == "postgres" else "local"
    )
    addon.credentials_encrypted = crypto.encrypt(json.dumps(creds))
    addon.save()
    audit_as(actor, "addon.created", tenant=tenant, target=app, addon=str(addon.pk), kind=kind)
    events.addon_event("addon.created", addon, tenant=tenant)
    transaction.on_commit(functools.partial(_package().enqueue_provision, addon.pk))
    return addon


def addon_provision(*, addon_id, tenant, actor: Actor = SYSTEM) -> Addon:
    """The server side of a new add-on, then its env var on the app (and a deployment).
    Idempotent: a retry after a crash finishes what is missing."""
    addon = Addon.objects.select_related("app").get(pk=addon_id)
    if addon.status != AddonStatus.PROVISIONING:
        return addon
    creds = connection.credentials(addon)
    try:
        if addon.kind == AddonKind.POSTGRES:
            pg_engine.provision(
                db_name=addon.db_name,
                role=creds["user"],
                password=creds["password"],
                connection_limit=pg_engine.CONNECTION_LIMIT,
            )
        else:
            redis_engine.provision(
                key=addon.db_name,
                password=creds["password"],
                admin_password=creds["admin_password"],
                maxmemory_mb=addon.size_mb,
            )
    except Exception as exc:
        logger.exception("Provisioning add-on %s failed", addon.pk)
        Addon.objects.filter(pk=addon.pk).update(
            status=AddonStatus.FAILED, status_detail=str(exc)[:500]
        )
        addon.refresh_from_db()
        return addon
    with transaction.atomic():
        Addon.objects.filter(pk=addon.pk).update(
            status=AddonStatus.AVAILABLE,
            status_detail="",
            size_used_bytes=_size_bytes(addon, creds),
            size_checked_at=timezone.now(),
        )
        addon.refresh_from_db()
        mounts_sync(app=addon.app)
        deploy_services.env_vars_update(
            app=addon.app,
            tenant=tenant,
            actor=actor,
            changes={addon.env_var: connection.url(addon)},
        )
    return addon


def _size_bytes(addon: Addon, creds: dict) -> int | None:
    try:
        if addon.kind == AddonKind.POSTGRES:
            return pg_engine.size_bytes(db_name=addon.db_name)
        return redis_engine.size_bytes(key=addon.db_name, admin_password=creds["admin_password"])
    except Exception:  # a first measurement is a nicety: the size check measures again
        logger.exception("Could not measure add-on %s", addon.pk)
        return None


def mounts_sync(*, app) -> None:
    """Tell the runtime which add-on sockets the app's sandbox sees (from its next start)."""
    mounts = [m for a in selectors.addons_mounted(app=app) if (m := connection.mount_of(a))]
    unique = list({m.target: m for m in mounts}.values())
    app_mounts.app_mounts_set(app_key=app.pk.hex, mounts=unique)


def addon_reveal(*, addon: Addon, tenant, actor: Actor) -> str:
    """The add-on's connection URL, audited every time (like an env var's value)."""
    if addon.status != AddonStatus.AVAILABLE:
        raise Conflict(f"The add-on is {addon.status}.")
    audit_as(actor, "addon.revealed", tenant=tenant, target=addon.app, addon=str(addon.pk))
    return connection.url(addon)


@transaction.atomic
def addon_rotate(*, addon: Addon, tenant, actor: Actor) -> tuple[Addon, Deployment | None]:
    """New credentials, valid at once; the app is deployed with them; the old ones are
    revoked when that deployment is over (addon_rotation_finish)."""
    addon = Addon.objects.select_for_update().select_related("app").get(pk=addon.pk)
    if addon.status != AddonStatus.AVAILABLE:
        raise Conflict(f"The add-on is {addon.status}.")
    if addon.previous_credentials_encrypted:
        raise Conflict("A rotation of this add-on is in progress; try again in a minute.")
    old = connection.credentials(addon)
    new = {**old, "password": _secret()}
    version = addon.credentials_version + 1
    if addon.kind == AddonKind.POSTGRES:
        new["user"] = pg_engine.login_role(addon.db_name, version)
        pg_engine.login_role_add(
            db_name=addon.db_name,
            role=new["user"],
            password=new["password"],
            connection_limit=pg_engine.CONNECTION_LIMIT,
        )
        addon.role_name = new["user"]
    else:
        redis_engine.password_add(
            key=addon.db_name, admin_password=old["admin_password"], password=new["password"]
        )
    try:
        addon.previous_credentials_encrypted = addon.credentials_encrypted
        addon.credentials_encrypted = crypto.encrypt(json.dumps(new))
        addon.credentials_version = version
        deployment = None
        if addon.attached:
            _release, deployment = deploy_services.env_vars_update(
                app=addon.app,
                tenant=tenant,
                actor=actor,
                changes={addon.env_var: connection.url(addon)},
            )
        addon.rotation_deployment_id = deployment.pk if deployment else None
        addon.save()
        audit_as(actor, "addon.credentials_rotated", tenant=tenant, target=addon.app,
                 addon=str(addon.pk), version=version)  # fmt: skip
    except Exception:
        # The server already has the new credentials, and this transaction (which would have
        # recorded them) rolls back: take them away again, or they would stay valid unseen.
        _credentials_withdraw(addon, new, admin_password=old.get("admin_password", ""))
        raise
    transaction.on_commit(functools.partial(_package().enqueue_rotation_finish, addon.pk))
    return addon, deployment


def _credentials_withdraw(addon: Addon, creds: dict, *, admin_password: str) -> None:
    try:
        if addon.kind == AddonKind.POSTGRES:
            pg_engine.login_role_drop(db_name=addon.db_name, role=creds["user"])
        else:
            redis_engine.password_remove(
                key=addon.db_name, admin_password=admin_password, password=creds["password"]
            )
    except Exception:
        logger.exception("addons: could not withdraw new credentials of %s", addon.pk)


def addon_rotation_finish(*, addon_id) -> bool:
    """Revoke the credentials a rotation replaced, once the deployment carrying the new ones
    is over. False: not yet (the task tries again)."""
    addon = Addon.objects.filter(pk=addon_id).first()
    if addon is None or not addon.previous_credentials_encrypted:
        return True
    if addon.rotation_deployment_id:
        state = (
            Deployment.objects.filter(pk=addon.rotation_deployment_id)
            .values_list("state", flat=True)
            .first()
        )
        if state is not None and state not in FINAL_STATES:
            return False  # queued or under way
        if state in (DeploymentState.FAILED, DeploymentState.CANCELED):
            # The previous release, with the old credentials, still serves: revoking them would
            # take the app down. Both stay valid; rotating again finishes the job.
            Addon.objects.filter(pk=addon.pk).update(
                previous_credentials_encrypted="",
                rotation_deployment_id=None,
                status_detail="The deployment with the new credentials did not go live; the "
                "old ones still work. Rotate again.",
            )
            return True
    old = json.loads(crypto.decrypt(addon.previous_credentials_encrypted))
    if addon.kind == AddonKind.POSTGRES:
        if old["user"] != connection.credentials(addon)["user"]:
            pg_engine.login_role_drop(db_name=addon.db_name, role=old["user"])
    else:
        redis_engine.password_remove(
            key=addon.db_name, admin_password=old["admin_password"], password=old["password"]
        )
    Addon.objects.filter(pk=addon.pk).update(
        previous_credentials_encrypted="", rotation_deployment_id=None, status_detail=""
    )
    return True


@transaction.atomic
def addon_detach(*, addon: Addon, tenant, actor: Actor) -> tuple[Addon, Deployment | None]:
    """Unset its env var (a new release and deployment); the data stays."""
    addon = Addon.objects.select_for_update().select_related("app").get(pk=addon.pk)
    if not addon.attached:
        raise Conflict("The add-on is not attached.")
    addon.attached = False
    addon.save(update_fields=["attached", "updated_at"])
    deployment = _env_unset(addon, tenant=tenant, actor=actor)
    mounts_sync(app=addon.app)
    audit_as(actor, "addon.detached", tenant=tenant, target=addon.app, addon=str(addon.pk))
    return addon, deployment


@transaction.atomic
def addon_attach(
    *, addon: Addon, tenant, actor: Actor, env_var: str = ""
) -> tuple[Addon, Deployment | None]:
    addon = Addon.objects.select_for_update().select_related("app").get(pk=addon.pk)
    if addon.attached:
        raise Conflict("The add-on is attached already.")
    if addon.status != AddonStatus.AVAILABLE:
        raise Conflict(f"The add-on is {addon.status}.")
    env_var = env_var or addon.env_var
    _validate_env_var(env_var)
    if Addon.objects.filter(app=addon.app, env_var=env_var, attached=True).exists():
        raise Conflict(f"Another add-on of the app sets {env_var}.")
    addon.attached, addon.env_var = True, env_var
    addon.save(update_fields=["attached", "env_var", "updated_at"])
    mounts_sync(app=addon.app)
    _release, deployment = deploy_services.env_vars_update(
        app=addon.app, tenant=tenant, actor=actor, changes={env_var: connection.url(addon)}
    )
    audit_as(actor, "addon.attached", tenant=tenant, target=addon.app, addon=str(addon.pk))
    return addon, deployment


def _env_unset(addon: Addon, *, tenant, actor: Actor) -> Deployment | None:
    if not deploy_services.config_of(addon.app).get(addon.env_var):
        return None
    _release, deployment = deploy_services.env_vars_update(
        app=addon.app, tenant=tenant, actor=actor, changes={addon.env_var: None}
    )
    return deployment


@transaction.atomic
def addon_destroy(*, addon: Addon, tenant, actor: Actor, confirm: str) -> Addon:
    """Detach (if attached) and remove the add-on and its data, after commit. `confirm` must
    be the add-on's name: the data cannot be brought back (but from a backup)."""
    addon = Addon.objects.select_for_update().select_related("app").get(pk=addon.pk)
    if confirm != addon.name:
        raise InvalidInput(
            f"Type the add-on's name ({addon.name}) to confirm: its data is deleted.",
            field="confirm",
        )
    if addon.status == AddonStatus.DELETING:
        raise Conflict("The add-on is being removed already.")
    if addon.attached:
        _env_unset(addon, tenant=tenant, actor=actor)
    addon.attached = False
    addon.status = AddonStatus.DELETING
    addon.save(update_fields=["attached", "status", "updated_at"])
    mounts_sync(app=addon.app)
    audit_as(actor, "addon.destroyed", tenant=tenant, target=addon.app, addon=str(addon.pk),
             name=addon.name, kind=addon.kind)  # fmt: skip
    events.addon_event("addon.destroyed", addon, tenant=tenant)
    transaction.on_commit(functools.partial(_package().enqueue_destroy, addon.pk))
    return addon


def addon_final_backup(*, addon: Addon) -> None:
    """A last backup before the data goes (apps/addons/backups/); raises if it failed."""
    from .backups.services import backup_final

    backup_final(addon=addon)


def addon_destroy_execute(*, addon_id) -> None:
    """The server side of removing an add-on (the task), then its row."""
    addon = Addon.objects.filter(pk=addon_id).first()
    if addon is None or addon.status != AddonStatus.DELETING:
        return
    addon_final_backup(addon=addon)
    if addon.kind == AddonKind.POSTGRES:
        pg_engine.destroy(db_name=addon.db_name)
    else:
        redis_engine.destroy(key=addon.db_name)
    addon.delete()


def addon_session_create(*, addon: Addon, tenant, actor: Actor, minutes: int = 0) -> dict:
    """Short-lived credentials for a one-off session (psql): a login role of the add-on's
    group that expires after `minutes`; the server's version."""
    if addon.kind != AddonKind.POSTGRES:
        raise InvalidInput("One-off sessions are for PostgreSQL add-ons.", field="kind")
    if addon.status != AddonStatus.AVAILABLE:
        raise Conflict(f"The add-on is {addon.status}.")
    minutes = minutes or settings.ADDONS_SESSION_MINUTES
    if not 1 <= minutes <= 24 * 60:
        raise InvalidInput("minutes is between 1 and 1440.", field="minutes")
    creds = {"user": f"{addon.db_name}_s{secrets.token_hex(4)}", "password": _secret()}
    version = pg_engine.temporary_role_add(
        db_name=addon.db_name, role=creds["user"], password=creds["password"], minutes=minutes
    )
    audit_as(actor, "addon.session_created", tenant=tenant, target=addon.app,
             addon=str(addon.pk), minutes=minutes)  # fmt: skip
    return {
        "url": connection.url(addon, creds),
        "user": creds["user"],
        "expires_at": timezone.now() + dt.timedelta(minutes=minutes),
        "server_version": version,
    }


def addon_size_check(*, addon: Addon, tenant) -> Addon:
    """Measure the add-on and hold it to its plan: over → warned (addon.size_exceeded);
    still over ADDONS_READ_ONLY_AFTER_S later → read-only (addon.locked); back under → writable
    (addon.unlocked). Redis holds itself to maxmemory; it is measured only."""
    if addon.status != AddonStatus.AVAILABLE:
        return addon
    now = timezone.now()
    limit_mb = selectors.size_limit_mb(tenant=tenant, kind=addon.kind)
    if addon.kind == AddonKind.REDIS:
        creds = connection.credentials(addon)
        used = redis_engine.size_bytes(key=addon.db_name, admin_password=creds["admin_password"])
        if limit_mb != addon.size_mb:
            redis_engine.maxmemory_set(
                key=addon.db_name, admin_password=creds["admin_password"], maxmemory_mb=limit_mb
            )
        Addon.objects.filter(pk=addon.pk).update(
            size_used_bytes=used, size_checked_at=now, size_mb=limit_mb
        )
        addon.refresh_from_db()
        return addon
    used = pg_engine.size_bytes(db_name=addon.db_name)
    over = used > limit_mb * 1024 * 1024
    changes: dict = {"size_used_bytes": used, "size_checked_at": now, "size_mb": limit_mb}
    event = ""
    if over and addon.warned_at is None:
        changes["warned_at"], event = now, "addon.size_exceeded"
    elif over and not addon.read_only:
        grace = dt.timedelta(seconds=settings.ADDONS_READ_ONLY_AFTER_S)
        if addon.warned_at + grace <= now:
            pg_engine.lock(db_name=addon.db_name)
            changes["read_only"], event = True, "addon.locked"
    elif not over and (addon.read_only or addon.warned_at):
        if addon.read_only:
            pg_engine.unlock(db_name=addon.db_name)
            event = "addon.unlocked"
        changes.update(read_only=False, warned_at=None)
    with transaction.atomic():
        Addon.objects.filter(pk=addon.pk).update(**changes)
        addon.refresh_from_db()
        if event:
            events.addon_event(event, addon, tenant=tenant)
            audit_as(SYSTEM, event, tenant=tenant, target=addon.app, addon=str(addon.pk),
                     used_bytes=used, limit_mb=limit_mb)  # fmt: skip
    return addon


def sessions_expired_drop() -> int:
    """Temporary session roles past their time, on the local cluster."""
    return pg_engine.temporary_roles_drop_expired()
