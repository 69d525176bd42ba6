"""The PostgreSQL cluster add-on databases live on: never Quayside's own server.

Local (the default): a cluster of its own under the runtime directory, made with initdb on first
use and run by the runtime's supervisord as the `postgres` user. It listens on a unix socket only
(listen_addresses=''), stores passwords as scram-sha-256, and its pg_hba.conf is written here:
the admin role by peer authentication for root only (pg_ident map), then one line per add-on
database naming the one group of roles allowed into it, then `reject` for everything else.

External (ADDONS_POSTGRES_ADMIN_URL, e.g. on the Kubernetes provider): an operator's server
reached with that URL; its pg_hba is the operator's (docs/addons.md says what to put there)."""

from __future__ import annotations

import glob
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from django.conf import settings

from apps.deploy.runtime.base import RuntimeProblem

from . import local

PROGRAM = "addon-postgres"
ADMIN_ROLE = "quayside_admin"
PORT = 5432


@dataclass(frozen=True)
class Cluster:
    admin_conninfo: dict  # keyword arguments of psycopg.connect, database left out
    socket_dir: str  # host directory of the socket ("" for an external server)
    external: bool
    host: str = ""  # external: host and port apps use
    port: int = PORT

    def connect(self, dbname: str = "postgres", **kwargs) -> psycopg.Connection:
        return psycopg.connect(**self.admin_conninfo, dbname=dbname, autocommit=True, **kwargs)


def bin_dir() -> str:
    if settings.ADDONS_POSTGRES_BIN_DIR:
        return settings.ADDONS_POSTGRES_BIN_DIR
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2] or 0))
    if not found:
        raise RuntimeProblem(
            "No PostgreSQL server binaries for add-ons: apt-get install postgresql, or set "
            "ADDONS_POSTGRES_BIN_DIR (or ADDONS_POSTGRES_ADMIN_URL for a server of your own)."
        )
    return found[-1]


def paths() -> tuple[Path, Path, Path]:
    base = local.make_dir(local.root() / "pg", 0o711)
    return base, base / "data", base / "sock"


def cluster() -> Cluster:
    """The cluster, started if it is local and not running yet."""
    if settings.ADDONS_POSTGRES_ADMIN_URL:
        info = psycopg.conninfo.conninfo_to_dict(settings.ADDONS_POSTGRES_ADMIN_URL)
        info.pop("dbname", None)
        return Cluster(
            admin_conninfo=info,
            socket_dir="",
            external=True,
            host=settings.ADDONS_POSTGRES_APP_HOST or info.get("host", ""),
            port=int(info.get("port") or PORT),
        )
    return ensure_local()


def ensure_local(wait_s: float = 30) -> Cluster:
    base, data, sock = paths()
    found = Cluster(
        admin_conninfo={"host": str(sock), "user": ADMIN_ROLE, "port": PORT},
        socket_dir=str(sock),
        external=False,
    )
    if local.running(PROGRAM) and (sock / f".s.PGSQL.{PORT}").exists():
        return found
    user = local.server_user("postgres")
    if not (data / "PG_VERSION").exists():
        local.make_dir(data, 0o700, user)
        subprocess.run(
            [f"{bin_dir()}/initdb", "-D", str(data), "-U", ADMIN_ROLE, "-A", "reject",
             "--auth-local=reject", "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions"],
            user=user, check=True, capture_output=True, cwd="/",
        )  # fmt: skip
    local.make_dir(sock, 0o755, user)
    hba_write()
    (base / "pg_ident.conf").write_text(f"quayside root {ADMIN_ROLE}\n")
    os.chmod(base / "pg_ident.conf", 0o644)
    options = {
        "listen_addresses": "''",
        "unix_socket_directories": str(sock),
        "unix_socket_permissions": "0777",
        "port": str(PORT),
        "password_encryption": "scram-sha-256",
        "hba_file": str(base / "pg_hba.conf"),
        "ident_file": str(base / "pg_ident.conf"),
        "max_connections": str(settings.ADDONS_POSTGRES_MAX_CONNECTIONS),
        "shared_buffers": "32MB",
        "logging_collector": "off",
    }
    command = " ".join([f"{bin_dir()}/postgres", "-D", str(data)]
                       + [f"-c {k}={v}" for k, v in options.items()])  # fmt: skip
    supervisor = local.supervisor()
    supervisor.write_program(
        local.ServerProgram(
            name=PROGRAM,
            command=command.replace("%", "%%"),
            directory="/",
            user=user,
            stop_wait_s=20,
            log_file=str(local.log_dir() / "postgres.log"),
            stop_signal="INT",
        )
    )
    supervisor.add(PROGRAM)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            with found.connect() as conn:
                conn.execute("SELECT 1")
            return found
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                raise RuntimeProblem(f"The add-on PostgreSQL cluster did not start: {exc}") from exc
            time.sleep(0.1)


def hba_write() -> None:
    """pg_hba.conf from the per-database lines in hba.d/ (one file per add-on)."""
    base, _data, _sock = paths()
    parts = local.make_dir(base / "hba.d", 0o700)
    lines = [
        "# Written by Quayside (apps/addons/engines/pg_cluster.py): do not edit.",
        f"local all {ADMIN_ROLE} peer map=quayside",
    ]
    for part in sorted(parts.glob("*.conf")):
        lines.append(part.read_text().strip())
    lines.append("local all all reject")
    target = base / "pg_hba.conf"
    temporary = base / ".pg_hba.conf.tmp"
    temporary.write_text("\n".join(lines) + "\n")
    os.chmod(temporary, 0o644)
    os.replace(temporary, target)


def hba_allow(database: str, group: str, *, present: bool, conn=None) -> None:
    """Let members of `group` (and only them) into `database` with a password, or no longer;
    the running cluster rereads the file."""
    base, _data, _sock = paths()
    part = local.make_dir(base / "hba.d", 0o700) / f"{database}.conf"
    if present:
        part.write_text(f"local {database} +{group} scram-sha-256\n")
    else:
        part.unlink(missing_ok=True)
    hba_write()
    if conn is not None:
        conn.execute("SELECT pg_reload_conf()")


def server_version(conn) -> str:
    return conn.execute("SHOW server_version").fetchone()[0]
