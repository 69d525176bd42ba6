"""The engines' view of one add-on: where its data is and how to stop and start its server.

PostgreSQL: the add-on cluster's admin role (peer authentication for root on the local cluster;
the operator's URL for an external one), with the cluster's own pg_dump and pg_restore.
Redis: the control plane's ACL user `quayside` (it may SYNC), the server's data directory, and the
add-on engine's own calls to stop it (remove its supervisord program) and start it (provision,
which is idempotent and waits until it answers)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from ..connection import credentials
from ..engines import local, pg_cluster
from ..engines import redis as redis_engine
from ..models import Addon, AddonKind
from .engines import (
    PgTarget,
    RedisFiles,
    RedisTarget,
    pg_dump_stream,
    pg_restore_stream,
    redis_dump_stream,
    redis_restore_stream,
)


def pg_target(addon: Addon) -> PgTarget:
    found = pg_cluster.cluster()
    info = found.admin_conninfo
    return PgTarget(
        host=str(info.get("host") or found.socket_dir),
        port=int(info.get("port") or pg_cluster.PORT),
        user=str(info.get("user") or pg_cluster.ADMIN_ROLE),
        password=str(info.get("password") or ""),
        dbname=addon.db_name,
        bin_dir="" if found.external else pg_cluster.bin_dir(),
    )


def redis_target(addon: Addon) -> RedisTarget:
    return RedisTarget(
        unix_socket=redis_engine.socket_path(addon.db_name),
        username=redis_engine.ADMIN_USER,
        password=credentials(addon)["admin_password"],
    )


def redis_hooks(addon: Addon) -> tuple[RedisFiles, Callable[[], None], Callable[[], None]]:
    creds = credentials(addon)
    _home, _sock, data = redis_engine.paths(addon.db_name)
    owner = local.ids(local.server_user("redis"))

    def stop() -> None:
        local.supervisor().remove(redis_engine.program(addon.db_name))

    def start() -> None:
        redis_engine.provision(
            key=addon.db_name,
            password=creds["password"],
            admin_password=creds["admin_password"],
            maxmemory_mb=addon.size_mb,
        )

    return RedisFiles(dir=data, appendonly=True, owner=owner), stop, start


def dump(addon: Addon, *, compress: int = 6) -> Iterator[bytes]:
    """The add-on's data, streamed (custom-format archive or RDB snapshot)."""
    if addon.kind == AddonKind.POSTGRES:
        return pg_dump_stream(pg_target(addon), compress=compress)
    return redis_dump_stream(redis_target(addon))


def restore(addon: Addon, chunks: Iterable[bytes], *, fresh: bool) -> None:
    """Replace the add-on's data with a dump. `fresh`: the add-on was just made for it.

    Always as the add-on's group role (SET ROLE), never as the admin: the archive is what the
    tenant's app wrote, and a restore runs some of it (a CHECK constraint's function is called
    for each row COPY loads); as the cluster's superuser that code could make the app's role a
    superuser. The group owns everything the app made, so it may drop and recreate it; the
    archive's owners and grants are left out (the group owns what it creates)."""
    if addon.kind == AddonKind.POSTGRES:
        target = pg_target(addon)
        pg_restore_stream(target, chunks, clean=not fresh, keep_owners=False, role=addon.db_name)
        return
    files, stop, start = redis_hooks(addon)
    redis_restore_stream(files, chunks, stop=stop, start=start)
