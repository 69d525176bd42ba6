"""Apps: names, git sources, health paths; create, update, delete; the git webhook secret."""

from __future__ import annotations

import functools
import logging
import re
import secrets
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from apps.core import crypto
from apps.core.actor import Actor
from apps.core.audit import audit_as
from apps.core.net import BlockedTarget, Unresolved
from apps.core.problems import Conflict, InvalidInput
from apps.core.versioning import version_bump, version_lock

from .. import events, quota, selectors
from ..models import App
from ..runtime import RuntimeProblem, get_provider
from ..runtime.git import GitSource, display_url, parse_git_url, remote_address, validate_ref
from ._common import routes_sync_quietly
from .sources import source_fields

logger = logging.getLogger(__name__)

# Used with fullmatch (and \Z in lookaheads): `$` also matches before a final newline.
APP_NAME = re.compile(r"[a-z][a-z0-9-]{0,28}[a-z0-9]")
# A DNS label (`<name>-<tenant slug>` of an app's default hostname) is at most 63 characters.
DNS_LABEL_MAX = 63
# Printable ASCII without spaces, starting with "/" (what a URL path may carry unencoded).
HEALTH_PATH = re.compile(r"/[\x21-\x7e]{0,199}")


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
    source_kind: str = "git",
    image_ref: str = "",
    registry_credentials: dict | None = None,
) -> tuple[App, str]:
    """A new app and its webhook secret (returned this once). Its source is a git URL or, on
    a provider that runs images, an image reference (services/sources.py)."""
    name = _validate_name(name)
    source = source_fields(
        changes={
            "source_kind": source_kind,
            "image_ref": image_ref,
            "registry_credentials": registry_credentials,
        }
    )
    if source["source_kind"] == "image" and git_url:
        raise InvalidInput("An image app has no git URL: give one or the other.", field="git_url")
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
                **source,
            )
    except IntegrityError as exc:
        raise InvalidInput(f"There is already an app called '{name}'.", field="name") from exc
    audit_as(actor, "app.created", tenant=tenant, target=app, name=name)
    events.app_event("app.created", app, tenant=tenant)
    return app, webhook_secret


@transaction.atomic
def app_update(
    *, app: App, tenant, actor: Actor, expected_version: int | None = None, **changes
) -> App:
    """Change the app's source, branch or health path. `expected_version`: the version the
    caller read (a newer one is a 409 version-conflict; None writes regardless)."""
    version_lock(app, expected=expected_version)
    fields: dict[str, Any] = source_fields(changes=changes, app=app)
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
        version_bump(app)
        changed = sorted(k.replace("_encrypted", "").replace("_display", "") for k in fields)
        audit_as(actor, "app.updated", tenant=tenant, target=app, fields=sorted(set(changed)))
    return app


@transaction.atomic
def app_delete(*, app: App, tenant, actor: Actor, expected_version: int | None = None) -> None:
    app = App.objects.select_for_update().get(pk=app.pk)
    version_lock(app, expected=expected_version)
    if app.active_deployment_id is not None:
        raise Conflict("A deployment of this app is running: cancel it first.")
    app_key = app.pk.hex
    name = app.name
    audit_as(actor, "app.deleted", tenant=tenant, target=app, name=name)
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
    audit_as(actor, "app.webhook_secret_rotated", tenant=tenant, target=app)
    return secret


def webhook_secret(app: App) -> str:
    return crypto.decrypt(app.webhook_secret_encrypted) if app.webhook_secret_encrypted else ""


def git_url(app: App) -> str:
    return crypto.decrypt(app.git_url_encrypted) if app.git_url_encrypted else ""
