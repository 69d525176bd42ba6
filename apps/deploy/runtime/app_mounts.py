"""Extra directories an app's sandbox sees: the sockets of its add-ons.

Deploy never imports the add-ons app (ARCHITECTURE.md §3a), so add-ons tell the runtime what
each app may reach through this small registry: one JSON file per app under
<DEPLOY_RUNTIME_DIR>/sandbox/mounts/, written by `app_mounts_set` and read by the local
provider each time it writes a launch script (local_sandbox.mounts_for). A file, not a Python
registry, because the worker that deploys, the reconciler that restarts and the web process that
attaches an add-on are different processes.

Only directories under MOUNT_ROOT may be targets (nothing can shadow /usr, /etc or the app's own
files), and each is bind-mounted read-only: a unix socket is still connectable through a
read-only mount, and the app cannot replace or remove it."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

MOUNT_ROOT = "/run/addons/"


@dataclass(frozen=True)
class AppMount:
    source: str  # a directory on the host
    target: str  # where the sandbox sees it, under MOUNT_ROOT


def _dir(root: Path | None) -> Path:
    base = Path(root or settings.DEPLOY_RUNTIME_DIR).resolve()
    return base / "sandbox" / "mounts"


def _file(app_key: str, root: Path | None) -> Path:
    if not app_key.isalnum():
        raise ValueError(f"not an app key: {app_key!r}")
    return _dir(root) / f"{app_key}.json"


def app_mounts_set(*, app_key: str, mounts: list[AppMount], root: Path | None = None) -> None:
    """Replace what `app_key`'s sandbox sees beyond its own files (takes effect on the next
    start of its processes: attach and detach deploy)."""
    for mount in mounts:
        target = os.path.normpath(mount.target)
        if not target.startswith(MOUNT_ROOT) or not os.path.isabs(mount.source):
            raise ValueError(f"mount target must be under {MOUNT_ROOT}: {mount.target}")
    path = _file(app_key, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    if not mounts:
        path.unlink(missing_ok=True)
        return
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps([[m.source, m.target] for m in mounts]))
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def app_mounts(app_key: str, root: Path | None = None) -> list[AppMount]:
    """What `app_mounts_set` wrote for the app, the sources that exist (an add-on being removed
    may be gone already)."""
    try:
        rows = json.loads(_file(app_key, root).read_text())
    except (OSError, ValueError):
        return []
    found = []
    for source, target in rows:
        target = os.path.normpath(target)
        if target.startswith(MOUNT_ROOT) and os.path.isdir(source):
            found.append(AppMount(source=source, target=target))
    return found
