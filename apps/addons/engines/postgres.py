"""One PostgreSQL add-on on its cluster: a database, a group role, login roles.

    database <db>        owned by the admin role; CONNECT revoked from PUBLIC
    role <db> NOLOGIN    the group: CONNECT and TEMPORARY on <db>, USAGE and CREATE on its
                         schema `public`; owns what the app creates (each login role's session
                         starts as it: ALTER ROLE … SET role), so rotating the login role keeps
                         every table the app's
    role <db>_<n> LOGIN  the credentials in the app's URL, a member of the group, a password
                         (scram-sha-256) and a connection limit; rotation makes <db>_<n+1>,
                         the app is deployed with it, then <db>_<n> is dropped
    role <db>_lock       NOLOGIN: owns the app's objects while the add-on is over its size

Over its size, `lock` makes the add-on read-only in a way its roles cannot undo: what the group
owns is reassigned to <db>_lock (the group keeps SELECT), CREATE and TEMPORARY are revoked, and
the login role's sessions default to read-only transactions (a clear error message; that one a
session could turn off, the ownership it cannot). `unlock` gives everything back. No data is
ever deleted."""

from __future__ import annotations

import secrets
import time

import psycopg
from psycopg import sql

from apps.deploy.runtime.base import RuntimeProblem

from . import pg_cluster

CONNECTION_LIMIT = 20
LOCK_SUFFIX = "_lock"


def password_new() -> str:
    return secrets.token_urlsafe(24)


def login_role(db_name: str, version: int) -> str:
    return f"{db_name}_{version}"


def _ident(name: str) -> sql.Identifier:
    return sql.Identifier(name)


def provision(*, db_name: str, role: str, password: str, connection_limit: int) -> None:
    """Database, group, login role and the hba line. Idempotent: a retry after a crash
    finishes the job."""
    found = pg_cluster.cluster()
    with found.connect() as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [db_name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(_ident(db_name)))
        _login_role_make(conn, db_name=db_name, role=role, password=password,
                         connection_limit=connection_limit)  # fmt: skip
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db_name]).fetchone():
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {} CONNECTION LIMIT {}").format(
                    _ident(db_name),
                    _ident(found.admin_conninfo.get("user") or pg_cluster.ADMIN_ROLE),
                    sql.Literal(connection_limit + 2),
                )
            )
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(_ident(db_name)))
        conn.execute(
            sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(
                _ident(db_name), _ident(db_name)
            )
        )
        if not found.external:
            pg_cluster.hba_allow(db_name, db_name, present=True, conn=conn)
    with found.connect(db_name) as conn:
        conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        conn.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(_ident(db_name)))
    wait_usable(db_name=db_name, role=role, password=password)


def _login_role_make(conn, *, db_name: str, role: str, password: str, connection_limit: int):
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
    verb = "ALTER" if exists else "CREATE"
    conn.execute(
        sql.SQL(
            verb + " ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
            "CONNECTION LIMIT {} PASSWORD {}"
        ).format(_ident(role), sql.Literal(connection_limit), sql.Literal(password))
    )
    conn.execute(sql.SQL("GRANT {} TO {}").format(_ident(db_name), _ident(role)))
    conn.execute(sql.SQL("ALTER ROLE {} SET role = {}").format(_ident(role), sql.Literal(db_name)))


def wait_usable(*, db_name: str, role: str, password: str, wait_s: float = 5) -> None:
    """Log in as the new role (the cluster rereads pg_hba.conf a moment after being told)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            with psycopg.connect(**app_conninfo(db_name=db_name, role=role, password=password)):
                return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                raise RuntimeProblem(f"The new database does not accept its role: {exc}") from exc
            time.sleep(0.05)


def app_conninfo(*, db_name: str, role: str, password: str) -> dict:
    """How Quayside (on the host) reaches the add-on as its role."""
    found = pg_cluster.cluster()
    host = found.host if found.external else found.socket_dir
    return {"host": host, "port": found.port, "dbname": db_name, "user": role,
            "password": password}  # fmt: skip


def login_role_add(*, db_name: str, role: str, password: str, connection_limit: int) -> None:
    """A further login role (rotation; temporary psql sessions add VALID UNTIL)."""
    with pg_cluster.cluster().connect() as conn:
        _login_role_make(conn, db_name=db_name, role=role, password=password,
                         connection_limit=connection_limit)  # fmt: skip
        read_only = conn.execute(
            "SELECT 1 FROM pg_roles WHERE rolname = %s", [db_name + LOCK_SUFFIX]
        ).fetchone()
    if read_only:
        _set_read_only(role, True)
    wait_usable(db_name=db_name, role=role, password=password)


def temporary_role_add(*, db_name: str, role: str, password: str, minutes: int) -> str:
    """A login role for a one-off session, valid `minutes`; the server's version."""
    with pg_cluster.cluster().connect() as conn:
        conn.execute(
            sql.SQL(
                "CREATE ROLE {} LOGIN CONNECTION LIMIT 2 PASSWORD {} VALID UNTIL {} IN ROLE {}"
            ).format(
                _ident(role),
                sql.Literal(password),
                sql.Literal(
                    time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(time.time() + minutes * 60))
                ),
                _ident(db_name),
            )
        )
        conn.execute(
            sql.SQL("ALTER ROLE {} SET role = {}").format(_ident(role), sql.Literal(db_name))
        )
        return pg_cluster.server_version(conn)


def login_role_drop(*, db_name: str, role: str) -> None:
    """Drop an old login role: its sessions end, what it owns goes to the group."""
    with pg_cluster.cluster().connect() as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
            return
        conn.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(_ident(role)))
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [role]
        )
    with pg_cluster.cluster().connect(db_name) as conn:
        conn.execute(sql.SQL("REASSIGN OWNED BY {} TO {}").format(_ident(role), _ident(db_name)))
        conn.execute(sql.SQL("DROP OWNED BY {}").format(_ident(role)))
    with pg_cluster.cluster().connect() as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(_ident(role)))


def destroy(*, db_name: str) -> None:
    """The database and every role of the add-on. Irreversible (services ask first)."""
    found = pg_cluster.cluster()
    with found.connect() as conn:
        group = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [db_name]).fetchone()
        members = [row[0] for row in _members(conn, db_name)] if group else []
        roles = [*members, db_name + LOCK_SUFFIX, db_name]
        if not found.external:
            pg_cluster.hba_allow(db_name, db_name, present=False, conn=conn)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(_ident(db_name)))
        for role in roles:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
                conn.execute(sql.SQL("DROP OWNED BY {}").format(_ident(role)))
                conn.execute(sql.SQL("DROP ROLE {}").format(_ident(role)))


def size_bytes(*, db_name: str) -> int:
    with pg_cluster.cluster().connect() as conn:
        return int(conn.execute("SELECT pg_database_size(%s)", [db_name]).fetchone()[0])


def _set_read_only(role: str, on: bool, conn=None) -> None:
    statement = (
        sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on")
        if on
        else sql.SQL("ALTER ROLE {} RESET default_transaction_read_only")
    ).format(_ident(role))
    if conn is not None:
        conn.execute(statement)
        return
    with pg_cluster.cluster().connect() as own:
        own.execute(statement)


def lock(*, db_name: str) -> None:
    """Read-only (over the size limit), reversibly, without losing a byte."""
    lock_role = db_name + LOCK_SUFFIX
    group, locker = _ident(db_name), _ident(lock_role)
    with pg_cluster.cluster().connect() as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [lock_role]).fetchone():
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(locker))
        conn.execute(sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM {}").format(group, group))
        for (role,) in _members(conn, db_name):
            _set_read_only(role, True, conn)
    with pg_cluster.cluster().connect(db_name) as conn:
        conn.execute(sql.SQL("REASSIGN OWNED BY {} TO {}").format(group, locker))
        conn.execute(sql.SQL("REVOKE CREATE ON SCHEMA public FROM {}").format(group))
        schemas = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspowner = %s::regrole OR nspname = 'public'",
            [lock_role],
        ).fetchall()
        for (schema,) in schemas:
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(_ident(schema), group))
            conn.execute(
                sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(
                    _ident(schema), group
                )
            )
            conn.execute(
                sql.SQL("GRANT SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}").format(
                    _ident(schema), group
                )
            )
    with pg_cluster.cluster().connect() as conn:  # sessions open now pick up the change
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
            "AND usename <> current_user",
            [db_name],
        )


def unlock(*, db_name: str) -> None:
    lock_role = db_name + LOCK_SUFFIX
    group = _ident(db_name)
    with pg_cluster.cluster().connect() as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [lock_role]).fetchone():
            return
        conn.execute(sql.SQL("GRANT TEMPORARY ON DATABASE {} TO {}").format(group, group))
        for (role,) in _members(conn, db_name):
            _set_read_only(role, False, conn)
    with pg_cluster.cluster().connect(db_name) as conn:
        conn.execute(sql.SQL("REASSIGN OWNED BY {} TO {}").format(_ident(lock_role), group))
        conn.execute(sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(group))
    with pg_cluster.cluster().connect() as conn:
        conn.execute(sql.SQL("DROP ROLE {}").format(_ident(lock_role)))


def _members(conn, db_name: str):
    return conn.execute(
        "SELECT r.rolname FROM pg_roles r JOIN pg_auth_members m ON m.member = r.oid "
        "WHERE m.roleid = %s::regrole",
        [db_name],
    ).fetchall()


def temporary_roles_drop_expired() -> int:
    """Drop the one-off session roles (<db>_s<hex>) whose VALID UNTIL has passed."""
    from django.conf import settings

    from . import local

    if not settings.ADDONS_POSTGRES_ADMIN_URL and not local.running(pg_cluster.PROGRAM):
        return 0
    with pg_cluster.cluster().connect() as conn:
        rows = conn.execute(
            "SELECT rolname FROM pg_roles WHERE rolname ~ '^a_[0-9a-f]{32}_s[0-9a-f]+$' "
            "AND rolvaliduntil < now()"
        ).fetchall()
    for (role,) in rows:
        login_role_drop(db_name=role.rsplit("_s", 1)[0], role=role)
    return len(rows)
