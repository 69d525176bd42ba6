"""The add-ons' place in the local runtime: <DEPLOY_RUNTIME_DIR>/addons/ and its supervisord.

addons/                0711 root
  pg/                  0711 root: pg_hba.conf, pg_ident.conf (root's, postgres reads them)
    data/              0700 postgres: the cluster (initdb)
    sock/              0755 postgres: .s.PGSQL.5432, the only way in (no TCP)
  redis/<key>/         0711 root: redis.conf (0640 root:redis; it holds no password)
    sock/              0755 redis: redis.sock (bind-mounted into its app's sandbox only)
    data/              0700 redis: appendonly files, dump.rdb, users.acl
"""

from __future__ import annotations

import grp
import os
import pwd
from pathlib import Path

from django.conf import settings

from apps.deploy.runtime.local import LocalProvider
from apps.deploy.runtime.supervisor import ProgramConfig, Supervisor


class ServerProgram(ProgramConfig):
    """A supervisord program for a database server: stopped with `stop_signal` (PostgreSQL's
    fast shutdown is SIGINT; SIGTERM would wait for every client to leave)."""

    def __init__(self, *args, stop_signal: str = "TERM", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stop_signal = stop_signal

    def render(self) -> str:
        text = super().render().replace("stopsignal=TERM", f"stopsignal={self.stop_signal}")
        return text.replace("stopasgroup=true", "stopasgroup=false")


def provider() -> LocalProvider:
    return LocalProvider()


def root() -> Path:
    path = provider().root / "addons"
    _dir(path, 0o711)
    return path


def supervisor() -> Supervisor:
    return provider().supervisor


def log_dir() -> Path:
    path = provider().root / "logs" / "addons"
    _dir(path, 0o700)
    return path


def ids(user: str) -> tuple[int, int]:
    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def group_id(name: str) -> int:
    return grp.getgrnam(name).gr_gid


def _dir(path: Path, mode: int, owner: str | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, mode)
    if owner:
        uid, gid = ids(owner)
        os.chown(path, uid, gid)
    return path


def make_dir(path: Path, mode: int, owner: str | None = None) -> Path:
    return _dir(path, mode, owner)


def server_user(kind: str) -> str:
    return settings.ADDONS_POSTGRES_USER if kind == "postgres" else settings.ADDONS_REDIS_USER


def running(name: str) -> bool:
    try:
        states = {p["group"]: p["statename"] for p in supervisor().processes()}
    except Exception:
        return False
    return states.get(name) in ("RUNNING", "STARTING")
