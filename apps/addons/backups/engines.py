"""Dump and restore the data of an add-on as a stream of bytes, never a whole file in memory.

PostgreSQL: `pg_dump --format=custom` to stdout, read a chunk at a time; `pg_restore` fed on stdin,
in one transaction (`--single-transaction`: a restore that fails or is cut off changes nothing).
The password goes in PGPASSWORD, never on a command line.

Redis: the RDB snapshot comes over the replication protocol (`SYNC`, as a replica would get it),
so it works for a server whose files we cannot reach; without the `eof` capability the server
saves to disk and sends a sized bulk at once (no diskless-sync delay, no EOF marker to strip).
Restoring needs the server's files: the stream is written next to the dump file first, then
`stop()` (the caller's hook: the add-on's server manager), the files are swapped, `start()`.
With AOF on (Redis 7's multi-part AOF in `appenddirname`), the AOF directory is set aside and the
snapshot is also put in `dir` as an old-style `appendfilename`: Redis 7 adopts such a file
(an RDB-preamble AOF) as the base of a new AOF on start ("migrated an old-style AOF file"),
where a plain dump.rdb would be ignored with AOF on. If the server does not come back, the old
files are put back and it is started again.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CHUNK_SIZE",
    "EngineError",
    "PgTarget",
    "RedisFiles",
    "RedisTarget",
    "pg_dump_stream",
    "pg_restore_stream",
    "redis_dump_stream",
    "redis_restore_stream",
]

CHUNK_SIZE = 1024 * 1024
STDERR_TAIL = 2000
RDB_MAGIC = b"REDIS"


class EngineError(Exception):
    """A dump or restore failed; the message (the tool's own words) is safe to show."""


# --- PostgreSQL ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PgTarget:
    """How to reach one database. `host` is a unix socket directory or a host name; `bin_dir`
    holds pg_dump and pg_restore (empty: found on PATH). They must be at least as new as the
    server."""

    host: str
    dbname: str
    user: str
    password: str = ""
    port: int = 5432
    bin_dir: str = ""

    def tool(self, name: str) -> str:
        return str(Path(self.bin_dir) / name) if self.bin_dir else name

    def args(self) -> list[str]:
        return ["-h", self.host, "-p", str(self.port), "-U", self.user, "-d", self.dbname]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(PGCONNECT_TIMEOUT="10", PGAPPNAME="quayside-backup")
        if self.password:
            env["PGPASSWORD"] = self.password
        return env


def _tail(handle) -> str:
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(max(0, size - STDERR_TAIL))
    return handle.read().decode(errors="replace").strip()


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()


def _stream_stdout(argv: list[str], env: dict[str, str], what: str) -> Iterator[bytes]:
    """stdout of `argv` a chunk at a time; EngineError (with stderr's end) if it exits non-zero.
    Closing the generator early kills the process."""
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors, env=env
        )
        try:
            assert process.stdout is not None
            while chunk := process.stdout.read(CHUNK_SIZE):
                yield chunk
            code = process.wait()
        finally:
            _stop(process)
        if code != 0:
            raise EngineError(f"{what} failed (exit {code}): {_tail(errors)}")


def _feed_stdin(argv: list[str], env: dict[str, str], chunks: Iterable[bytes], what: str) -> None:
    """Write `chunks` to the stdin of `argv`. An error raised by `chunks` kills the process (and
    propagates); a non-zero exit is an EngineError."""
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors, env=env
        )
        assert process.stdin is not None
        try:
            try:
                for chunk in chunks:
                    process.stdin.write(chunk)
                process.stdin.close()
            except BrokenPipeError:
                pass  # it stopped reading: its exit code and stderr tell why
            code = process.wait()
        except BaseException:
            _stop(process)
            raise
        if code != 0:
            raise EngineError(f"{what} failed (exit {code}): {_tail(errors)}")


def pg_dump_stream(target: PgTarget, *, compress: int = 6) -> Iterator[bytes]:
    """The database as a custom-format archive (what pg_restore reads), streamed."""
    argv = [target.tool("pg_dump"), *target.args(), "--format=custom", "--no-password"]
    argv.append(f"--compress={compress}")
    return _stream_stdout(argv, target.env(), "pg_dump")


def pg_restore_stream(
    target: PgTarget,
    chunks: Iterable[bytes],
    *,
    clean: bool = True,
    keep_owners: bool = True,
    role: str = "",
) -> None:
    """Restore a custom-format archive into `target`, all or nothing.

    clean: drop the objects the archive holds first (`--clean --if-exists`): into the same
      database. A fresh database (a new add-on) needs no clean.
    keep_owners: False for another add-on's database, whose roles differ: objects then belong to
      `role` (SET ROLE), or to the restoring user, and the archive's grants are left out.
    """
    argv = [target.tool("pg_restore"), *target.args(), "--single-transaction", "--no-password"]
    if clean:
        argv += ["--clean", "--if-exists"]
    if not keep_owners:
        argv += ["--no-owner", "--no-acl"]
    if role:
        argv += [f"--role={role}"]
    _feed_stdin(argv, target.env(), chunks, "pg_restore")


# --- Redis -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RedisTarget:
    """How to reach one Redis server: a unix socket path, or host and port."""

    unix_socket: str = ""
    host: str = "127.0.0.1"
    port: int = 6379
    password: str = ""
    username: str = ""
    timeout_s: float = 300.0


def _command(*parts: str) -> bytes:
    out = [f"*{len(parts)}\r\n".encode()]
    for part in parts:
        data = part.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def _connect(target: RedisTarget) -> socket.socket:
    if target.unix_socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        address: str | tuple[str, int] = target.unix_socket
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        address = (target.host, target.port)
    sock.settimeout(target.timeout_s)
    try:
        sock.connect(address)
    except OSError as exc:
        sock.close()
        raise EngineError(f"Cannot connect to Redis: {exc}") from exc
    return sock


def redis_dump_stream(target: RedisTarget) -> Iterator[bytes]:
    """The server's RDB snapshot, streamed (the server forks a BGSAVE for it)."""
    sock = _connect(target)
    try:
        reader = sock.makefile("rb")
        if target.password:
            auth = (target.username, target.password) if target.username else (target.password,)
            sock.sendall(_command("AUTH", *auth))
            answer = reader.readline()
            if not answer.startswith(b"+"):
                raise EngineError("Redis refused the credentials.")
        # Only the snapshot, not the command stream after it (Redis 7; older ones say -ERR).
        sock.sendall(_command("REPLCONF", "rdb-only", "1"))
        reader.readline()
        sock.sendall(_command("SYNC"))
        while True:
            line = reader.readline()
            if not line:
                raise EngineError("Redis closed the connection before sending the snapshot.")
            if line.strip():  # bare newlines are keep-alives while the server saves
                break
        if line.startswith(b"-"):
            raise EngineError(f"Redis refused SYNC: {line[1:].decode(errors='replace').strip()}")
        if not line.startswith(b"$") or line.startswith(b"$EOF:"):
            raise EngineError("Unexpected answer from Redis to SYNC.")
        remaining = int(line[1:].strip())
        while remaining > 0:
            chunk = reader.read(min(CHUNK_SIZE, remaining))
            if not chunk:
                raise EngineError("Redis closed the connection in the middle of the snapshot.")
            remaining -= len(chunk)
            yield chunk
    except (OSError, ValueError) as exc:
        raise EngineError(f"Redis snapshot failed: {exc}") from exc
    finally:
        sock.close()


@dataclass(frozen=True)
class RedisFiles:
    """Where a Redis server keeps its data (its `dir`, `dbfilename`, `appendonly`, …)."""

    dir: Path
    dbfilename: str = "dump.rdb"
    appendonly: bool = True
    appendfilename: str = "appendonly.aof"
    appenddirname: str = "appendonlydir"
    owner: tuple[int, int] | None = None  # (uid, gid) the server runs as, when not ours


def redis_restore_stream(
    files: RedisFiles,
    chunks: Iterable[bytes],
    *,
    stop: Callable[[], None],
    start: Callable[[], None],
) -> int:
    """Replace the server's data with the RDB snapshot `chunks`; returns its size.

    The snapshot is written in full before the server is touched (a broken or tampered stream
    leaves the server as it was). `stop` must return once the server has exited without saving
    (SHUTDOWN NOSAVE), `start` once it answers again."""
    data_dir = Path(files.dir)
    fd, staged_name = tempfile.mkstemp(dir=data_dir, prefix=".restore-", suffix=".rdb")
    staged = Path(staged_name)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                if size == 0 and not chunk.startswith(RDB_MAGIC[: len(chunk)]):
                    raise EngineError("Not a Redis snapshot.")
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size < len(RDB_MAGIC):
            raise EngineError("Not a Redis snapshot.")
        if files.owner is not None:
            os.chown(staged, *files.owner)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise

    dump = data_dir / files.dbfilename
    aof_dir = data_dir / files.appenddirname
    aof_file = data_dir / files.appendfilename
    aside = data_dir / ".pre-restore"
    with contextlib.suppress(OSError):
        aside.rmdir()  # an empty one from a crash; one with files in it is refused below
    try:
        aside.mkdir(mode=0o700)
    except FileExistsError:
        staged.unlink(missing_ok=True)
        raise EngineError(
            f"{aside} is left from an earlier restore: look at it, then remove it."
        ) from None
    try:
        stop()
    except BaseException:
        staged.unlink(missing_ok=True)
        aside.rmdir()
        raise
    moved: list[tuple[Path, Path]] = []
    try:
        for path in (dump, aof_dir, aof_file):
            if path.exists():
                path.rename(aside / path.name)
                moved.append((aside / path.name, path))
        os.replace(staged, dump)
        if files.appendonly:
            os.link(dump, aof_file)  # Redis never writes into either: it renames new ones in
        start()
    except BaseException:
        staged.unlink(missing_ok=True)
        for path in (dump, aof_file):
            path.unlink(missing_ok=True)
        for saved, original in moved:
            saved.rename(original)
        with contextlib.suppress(OSError):
            aside.rmdir()
        with contextlib.suppress(Exception):
            start()
        raise
    shutil.rmtree(aside, ignore_errors=True)
    return size
