"""Config and releases: env vars (encrypted; reveal is audited), the config of an app and of a
release, the secrets redacted from runtime logs, and making releases."""

from __future__ import annotations

import json
import re

from django.db import transaction
from django.db.models import Q

from apps.core import crypto
from apps.core.actor import Actor
from apps.core.audit import audit_as
from apps.core.problems import InvalidInput

from .. import selectors
from ..models import App, Deployment, DeploymentKind, EnvVar, Release, ReleaseStatus
from ..redaction import Redactor
from ..runtime import RuntimeProblem, get_provider
from ..runtime.git import REMOTE_SCHEMES, parse_git_url
from ._common import _deployment_queue
from .apps import git_url

ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")
RESERVED_ENV_KEYS = frozenset({"PORT", "HOME", "PATH", "QUAYSIDE_SOCKET", "VIRTUAL_ENV"})
MAX_ENV_VALUE = 32 * 1024
# Runtime logs are redacted with the configs of this many latest releases (besides the live one).
LOG_SECRET_RELEASES = 10


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
    audit_as(
        actor,
        "env_vars.updated",
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
    audit_as(actor, "env_var.revealed", tenant=tenant, target=app, key=key)
    return crypto.decrypt(var.value_encrypted)
