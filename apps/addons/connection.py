"""Connection URLs of an add-on: what the app gets in its env var, and where its socket is.

With the sandbox (the default) the app sees its add-ons' socket directories under
/run/addons/ (deploy's app_mounts.py bind-mounts them); without it (DEPLOY_SANDBOX=off, a
development machine) it uses the host's paths. An external PostgreSQL server is reached by host
and port."""

from __future__ import annotations

import json
from urllib.parse import quote

from apps.core import crypto
from apps.deploy.runtime import app_mounts
from apps.deploy.runtime import sandbox as deploy_sandbox

from .engines import pg_cluster
from .engines import redis as redis_engine
from .models import Addon, AddonKind

PG_MOUNT = app_mounts.MOUNT_ROOT + "postgres"


def credentials(addon: Addon) -> dict:
    return json.loads(crypto.decrypt(addon.credentials_encrypted))


def redis_mount(addon: Addon) -> str:
    return f"{app_mounts.MOUNT_ROOT}redis-{addon.name}"


def mount_of(addon: Addon) -> app_mounts.AppMount | None:
    """The socket directory the app's sandbox sees for this add-on (None: none to mount)."""
    if addon.kind == AddonKind.POSTGRES:
        found = pg_cluster.cluster()
        if found.external:
            return None
        return app_mounts.AppMount(source=found.socket_dir, target=PG_MOUNT)
    return app_mounts.AppMount(
        source=str(redis_engine.paths(addon.db_name)[1]), target=redis_mount(addon)
    )


def url(addon: Addon, creds: dict | None = None) -> str:
    """The URL the app gets (with the credentials in `creds`, default the add-on's own)."""
    creds = creds or credentials(addon)
    user, password = quote(creds["user"], safe=""), quote(creds["password"], safe="")
    sandboxed = deploy_sandbox.enabled()
    if addon.kind == AddonKind.POSTGRES:
        found = pg_cluster.cluster()
        if found.external:
            return f"postgresql://{user}:{password}@{found.host}:{found.port}/{addon.db_name}"
        host = PG_MOUNT if sandboxed else found.socket_dir
        return f"postgresql://{user}:{password}@/{addon.db_name}?host={host}"
    directory = redis_mount(addon) if sandboxed else str(redis_engine.paths(addon.db_name)[1])
    return f"unix://:{password}@{directory}/{redis_engine.SOCKET}"
