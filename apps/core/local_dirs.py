"""Per-checkout directories that other Unix users must reach, for local mode.

When Quayside runs as root, PostgreSQL runs as its own user and deployed apps run as
DEPLOY_RUN_AS_USER (`nobody`; one uid per app once apps are sandboxed). Their files must then lie
where *any* user can traverse. A checkout often is not such a place: root's home is 0700 on
Debian, and many distributions make home directories 0700 or 0750. Such files go to a directory of
their own per checkout instead, `/var/tmp/quayside-<hash of the checkout path>/` (`/var/tmp`
rather than `/tmp`: it survives reboots), the same one for `scripts/services.py` (PostgreSQL) and
the local runtime (`DEPLOY_RUNTIME_DIR`).

A world-writable parent such as /var/tmp lets anyone create that directory first (or a symlink in
its place) to have our servers run on their files: `check_not_planted` refuses it.

Standard library only, and no import of Django or of other Quayside modules: `scripts/services.py`
imports it before any virtualenv package is configured, and the settings import it.

    python -m apps.core.local_dirs runtime-dir    the default DEPLOY_RUNTIME_DIR of this checkout
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import stat
import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent.parent
SHARED_PARENT = Path("/var/tmp")  # noqa: S108 (see check_not_planted)
# A unix socket path holds 107 bytes (sun_path is 108 with its NUL). The longest one the local
# runtime makes is <runtime dir>/bind/<32-char app key>/<12-char deployment key>-<type>-<n>.sock
# (apps/deploy/runtime/local.py: LocalProvider.layout probes it with this suffix).
UNIX_PATH_MAX = 107
LONGEST_RUNTIME_SOCKET_SUFFIX = len("/bind/" + "0" * 32 + "/" + "0" * 12 + "-worker-99.sock")


class UnsafeDirectory(Exception):
    """A directory that must not be used (someone else's, or a symlink in a shared place)."""


def checkout_hash(checkout: Path = CHECKOUT) -> str:
    return hashlib.sha256(str(checkout).encode()).hexdigest()[:10]


def shared_base(checkout: Path = CHECKOUT) -> Path:
    """This checkout's directory under /var/tmp, for what others must reach."""
    return SHARED_PARENT / f"quayside-{checkout_hash(checkout)}"


def world_traversable(path: Path | str) -> bool:
    """True if any user can reach `path`: it and every directory above it have o+x. Parts that
    do not exist yet are skipped (whoever creates them gives them o+x: see make_dir)."""
    current = Path(path)
    for part in (current, *current.parents):
        try:
            mode = part.stat().st_mode
        except FileNotFoundError:
            continue
        if not mode & stat.S_IXOTH:
            return False
    return True


def runtime_dir_default(checkout: Path = CHECKOUT) -> Path:
    """The default DEPLOY_RUNTIME_DIR: `.local/runtime` in the checkout when every user can
    reach it and its socket paths fit, else `runtime` in this checkout's /var/tmp directory
    (`/var/tmp/quayside-<10 hex>/runtime`, 34 bytes: its sockets always fit)."""
    preferred = checkout / ".local" / "runtime"
    fits = len(str(preferred)) + LONGEST_RUNTIME_SOCKET_SUFFIX <= UNIX_PATH_MAX
    if fits and world_traversable(preferred):
        return preferred
    return shared_base(checkout) / "runtime"


def check_not_planted(path: Path, owner: str | None = None) -> None:
    """Refuse `path` if it lies in a world-writable place (/var/tmp, /tmp) and a directory of it
    there is a symlink or belongs to someone other than us (or `owner`): someone created it
    first to get a server started on their files. Parts that do not exist yet are skipped."""
    allowed = {os.geteuid(), *([pwd.getpwnam(owner).pw_uid] if owner else [])}
    for directory in [path, *path.parents]:
        parent = directory.parent
        if directory == parent or not parent.exists() or not parent.stat().st_mode & stat.S_IWOTH:
            continue
        if directory.is_symlink() or (
            directory.exists() and directory.stat().st_uid not in allowed
        ):
            raise UnsafeDirectory(f"refusing to use {directory}: it belongs to someone else")


def make_dir(path: Path, owner: str | None = None, mode: int = 0o755) -> None:
    """mkdir -p that does not depend on the umask: the directories it creates are 0755 (the last
    one `mode`, owned by `owner` if given), so other users can pass through them. Refused (before
    anything is made, and again after) by check_not_planted."""
    check_not_planted(path, owner)
    missing = [p for p in [path, *path.parents] if not p.exists()]
    for directory in reversed(missing):
        try:
            directory.mkdir()
        except FileExistsError:  # made meanwhile by someone else: checked below
            continue
        directory.chmod(mode if directory == path else 0o755)
    check_not_planted(path, owner)
    if owner:
        shutil.chown(path, owner, pwd.getpwnam(owner).pw_gid)


def main(argv: list[str]) -> int:
    if argv != ["runtime-dir"]:
        print("usage: python -m apps.core.local_dirs runtime-dir", file=sys.stderr)
        return 2
    print(runtime_dir_default())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
