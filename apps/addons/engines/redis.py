"""One Redis add-on: a redis-server of its own under the runtime's supervisord.

It listens on a unix socket only (port 0) in a directory that is bind-mounted into its app's
sandbox and nowhere else, keeps its data with appendonly and RDB snapshots, and stops accepting
writes at `maxmemory` (noeviction: never silent data loss). Two ACL users, kept in data/users.acl:
`default` (the app's: a password, every command but the server's administration) and `quayside`
(the control plane's: sizes, backups, rotation). Rotation adds the new password to `default`
before the old one is removed, so the app's processes of both releases work meanwhile."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import redis as redis_py
from django.conf import settings

from apps.deploy.runtime.base import RuntimeProblem

from . import local

SOCKET = "redis.sock"
ADMIN_USER = "quayside"
# What an app may run: everything but administration and what reaches past its own server.
# MIGRATE opens a connection from the server (on the host, outside the app's sandbox) to any
# address: an app could push keys into Quayside's own Redis. RESTORE takes raw serialized
# payloads (a history of parser bugs).
APP_COMMANDS = (
    "+@all -@admin -debug -monitor -shutdown -config -module -acl -replicaof -slaveof"
    " -migrate -restore -restore-asking"
)


def program(key: str) -> str:
    return f"addon-redis-{key}"


def paths(key: str) -> tuple[Path, Path, Path]:
    base = local.root() / "redis"
    local.make_dir(base, 0o711)
    home = base / key
    return home, home / "sock", home / "data"


def socket_path(key: str) -> str:
    return str(paths(key)[1] / SOCKET)


def _acl_line(user: str, passwords: list[str], commands: str) -> str:
    keys = "~* &*"
    secrets_ = " ".join(f">{p}" for p in passwords)
    return f"user {user} on {secrets_} {keys} {commands}"


def provision(*, key: str, password: str, admin_password: str, maxmemory_mb: int) -> None:
    """Write its config and ACL file, start it, wait until it answers. Idempotent."""
    user = local.server_user("redis")
    home, sock, data = paths(key)
    local.make_dir(home, 0o711)
    local.make_dir(sock, 0o755, user)
    local.make_dir(data, 0o700, user)
    acl = data / "users.acl"
    if not acl.exists():
        acl.write_text(
            _acl_line("default", [password], APP_COMMANDS)
            + "\n"
            + _acl_line(ADMIN_USER, [admin_password], "+@all")
            + "\n"
        )
        uid, gid = local.ids(user)
        os.chown(acl, uid, gid)
        os.chmod(acl, 0o600)
    conf = home / "redis.conf"
    conf.write_text(
        "\n".join(
            [
                "port 0",
                f"unixsocket {sock / SOCKET}",
                "unixsocketperm 777",
                f"dir {data}",
                f"aclfile {acl}",
                "appendonly yes",
                "appendfsync everysec",
                "save 300 1 60 100",
                f"maxmemory {maxmemory_mb}mb",
                "maxmemory-policy noeviction",
                "daemonize no",
                "databases 16",
                "",
            ]
        )
    )
    os.chown(conf, 0, local.group_id(user) if user != "root" else 0)
    os.chmod(conf, 0o640)
    name = program(key)
    supervisor = local.supervisor()
    supervisor.write_program(
        local.ServerProgram(
            name=name,
            command=f"{settings.ADDONS_REDIS_SERVER_BIN} {conf}".replace("%", "%%"),
            directory=str(data),
            user=user,
            stop_wait_s=10,
            log_file=str(local.log_dir() / f"redis-{key}.log"),
        )
    )
    supervisor.add(name)
    wait_ready(key=key, admin_password=admin_password)


def admin_client(*, key: str, admin_password: str) -> redis_py.Redis:
    return redis_py.Redis(
        unix_socket_path=socket_path(key),
        username=ADMIN_USER,
        password=admin_password,
        socket_timeout=5,
    )


def wait_ready(*, key: str, admin_password: str, wait_s: float = 10) -> None:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            if admin_client(key=key, admin_password=admin_password).ping():
                return
        except (redis_py.ConnectionError, redis_py.ResponseError, OSError) as exc:
            if time.monotonic() > deadline:
                raise RuntimeProblem(f"The add-on's redis-server did not start: {exc}") from exc
        time.sleep(0.05)


def password_add(*, key: str, admin_password: str, password: str) -> None:
    client = admin_client(key=key, admin_password=admin_password)
    client.execute_command("ACL", "SETUSER", "default", f">{password}")
    client.execute_command("ACL", "SAVE")


def password_remove(*, key: str, admin_password: str, password: str) -> None:
    client = admin_client(key=key, admin_password=admin_password)
    client.execute_command("ACL", "SETUSER", "default", f"<{password}")
    client.execute_command("ACL", "SAVE")
    client.execute_command("CLIENT", "KILL", "USER", "default")


def maxmemory_set(*, key: str, admin_password: str, maxmemory_mb: int) -> None:
    admin_client(key=key, admin_password=admin_password).config_set(
        "maxmemory", f"{maxmemory_mb}mb"
    )


def size_bytes(*, key: str, admin_password: str) -> int:
    info = admin_client(key=key, admin_password=admin_password).info("memory")
    return int(info.get("used_memory_dataset", info.get("used_memory", 0)))


def destroy(*, key: str) -> None:
    local.supervisor().remove(program(key))
    shutil.rmtree(paths(key)[0], ignore_errors=True)
