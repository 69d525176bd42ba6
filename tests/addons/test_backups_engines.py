"""Dump and restore engines (apps/addons/backups/engines.py) against real servers: scratch
databases `qs_bk_test_*` on the machine's PostgreSQL (127.0.0.1:5432), and redis-servers started
here on unix sockets in a temporary directory."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from apps.addons.backups.crypto import decrypt_stream, encrypt_stream
from apps.addons.backups.engines import (
    EngineError,
    PgTarget,
    RedisFiles,
    RedisTarget,
    pg_dump_stream,
    pg_restore_stream,
    redis_dump_stream,
    redis_restore_stream,
)

REDIS_SERVER = shutil.which("redis-server") or "redis-server"
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


def _admin(sql: str) -> None:
    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:
        conn.execute(sql)


class Scratch:
    """Databases and roles named qs_bk_test_*, all dropped at the end (databases first)."""

    def __init__(self) -> None:
        self.databases: list[str] = []
        self.roles: list[str] = []

    def db(self) -> PgTarget:
        name = f"qs_bk_test_{uuid.uuid4().hex[:12]}"
        _admin(f'CREATE DATABASE "{name}"')
        self.databases.append(name)
        return PgTarget(host=PG["host"], port=PG["port"], user=PG["user"], dbname=name)

    def role(self) -> str:
        name = f"qs_bk_test_{uuid.uuid4().hex[:12]}"
        _admin(f'CREATE ROLE "{name}" NOLOGIN')
        self.roles.append(name)
        return name

    def drop(self) -> None:
        for name in self.databases:
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for name in self.roles:
            _admin(f'DROP ROLE IF EXISTS "{name}"')


@pytest.fixture(scope="module")
def scratch():
    """Module-wide: each DROP DATABASE forces a checkpoint of the whole server (seconds on a
    busy machine), so the tests share their databases; each seeds what it reads."""
    made = Scratch()
    yield made
    made.drop()


@pytest.fixture(scope="module")
def source_db(scratch) -> PgTarget:
    return scratch.db()


def _sql(target: PgTarget, sql: str, params=None):
    with psycopg.connect(
        host=target.host, port=target.port, user=target.user, dbname=target.dbname, autocommit=True
    ) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else None


def _notes(target: PgTarget) -> list[str]:
    return [row[0] for row in _sql(target, "SELECT body FROM notes ORDER BY id")]


def _seed(target: PgTarget) -> None:
    _sql(target, "DROP TABLE IF EXISTS notes, made_after")
    _sql(target, "CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)")
    _sql(target, "INSERT INTO notes (body) SELECT 'note ' || g FROM generate_series(1, 500) g")


def test_postgres_backup_then_restore_into_the_same_database(source_db):
    db = source_db
    _seed(db)
    archive = list(encrypt_stream(pg_dump_stream(db)))
    _sql(db, "DELETE FROM notes WHERE id > 3")
    _sql(db, "CREATE TABLE made_after (x int)")
    pg_restore_stream(db, decrypt_stream(archive), clean=True)
    assert _notes(db) == [f"note {i}" for i in range(1, 501)]
    # Objects the archive does not hold are left alone (--clean drops only what it restores).
    assert _sql(db, "SELECT count(*) FROM made_after") == [(0,)]


def test_postgres_restore_into_a_new_database_owned_by_another_role(scratch, source_db):
    source, target, role = source_db, scratch.db(), scratch.role()
    _seed(source)
    _sql(source, f'GRANT SELECT ON notes TO "{role}"')
    _sql(target, f'GRANT CREATE ON SCHEMA public TO "{role}"')
    pg_restore_stream(target, pg_dump_stream(source), clean=False, keep_owners=False, role=role)
    assert len(_notes(target)) == 500
    owner = _sql(target, "SELECT tableowner FROM pg_tables WHERE tablename = 'notes'")
    assert owner == [(role,)]


def test_a_failed_dump_is_an_error_not_an_empty_backup():
    missing = PgTarget(host="127.0.0.1", user="postgres", dbname="qs_bk_test_does_not_exist")
    with pytest.raises(EngineError, match=r"pg_dump failed.*does not exist"):
        b"".join(pg_dump_stream(missing))


def test_a_cut_off_or_tampered_restore_changes_nothing(source_db):
    db = source_db
    _seed(db)
    archive = b"".join(pg_dump_stream(db))
    _sql(db, "DELETE FROM notes WHERE id > 1")
    with pytest.raises(EngineError, match="pg_restore failed"):
        pg_restore_stream(db, [archive[: len(archive) // 2]])
    assert _notes(db) == ["note 1"]
    blob = bytearray(b"".join(encrypt_stream([archive], chunk_size=4096)))
    blob[-100] ^= 1
    with pytest.raises(Exception, match="altered"):
        pg_restore_stream(db, decrypt_stream([bytes(blob)]))
    assert _notes(db) == ["note 1"]


# --- Redis -------------------------------------------------------------------------------


class RedisServer:
    """A redis-server of this test's own on a unix socket, with the hooks a restore needs."""

    def __init__(self, directory: Path, *, appendonly: bool) -> None:
        self.dir = directory
        self.socket = str(directory / "redis.sock")
        self.password = "pw-" + uuid.uuid4().hex
        self.appendonly = appendonly
        self.process: subprocess.Popen | None = None
        (directory / "redis.conf").write_text(
            f"port 0\nunixsocket {self.socket}\nunixsocketperm 700\ndir {directory}\n"
            f"appendonly {'yes' if appendonly else 'no'}\nrequirepass {self.password}\n"
            "save 3600 1\n"
        )

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, str(self.dir / "redis.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client().ping()
                return
            except (redis.ConnectionError, redis.BusyLoadingError):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.02)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            with contextlib.suppress(redis.ConnectionError):
                self.client().shutdown(nosave=True)
            self.process.wait(10)

    def client(self) -> redis.Redis:
        # No retries: redis-py's backoff would turn each restart into seconds of waiting.
        return redis.Redis(
            unix_socket_path=self.socket, password=self.password, retry=Retry(NoBackoff(), 0)
        )

    def target(self, **kwargs) -> RedisTarget:
        return RedisTarget(unix_socket=self.socket, password=self.password, **kwargs)

    def files(self) -> RedisFiles:
        return RedisFiles(dir=self.dir, appendonly=self.appendonly)


@pytest.fixture(params=[True, False], ids=["aof", "rdb-only"])
def redis_server(request, tmp_path):
    server = RedisServer(tmp_path, appendonly=request.param)
    server.start()
    yield server
    server.stop()


def test_redis_backup_then_restore(redis_server):
    client = redis_server.client()
    client.mset({f"key:{i}": f"value {i}" for i in range(1000)})
    client.hset("a-hash", mapping={"f": "1"})
    client.set("with-ttl", "x", ex=3600)
    snapshot = list(encrypt_stream(redis_dump_stream(redis_server.target())))
    client.flushall()
    client.set("written-after", "1")

    size = redis_restore_stream(
        redis_server.files(),
        decrypt_stream(snapshot),
        stop=redis_server.stop,
        start=redis_server.start,
    )
    assert size > 1000
    client = redis_server.client()
    assert client.dbsize() == 1002
    assert client.get("key:999") == b"value 999"
    assert client.hgetall("a-hash") == {b"f": b"1"}
    assert 0 < client.ttl("with-ttl") <= 3600
    assert client.get("written-after") is None
    # The restored data survives another restart (with AOF on: it became the AOF's base).
    redis_server.stop()
    redis_server.start()
    assert redis_server.client().dbsize() == 1002


def test_a_broken_redis_restore_stream_leaves_the_server_alone(redis_server):
    redis_server.client().set("live", "1")
    stops = []
    with pytest.raises(EngineError, match="Not a Redis snapshot"):
        redis_restore_stream(
            redis_server.files(),
            [b"PGDMP not redis"],
            stop=lambda: stops.append(1),
            start=redis_server.start,
        )
    assert stops == []
    assert redis_server.client().get("live") == b"1"
    assert not list(redis_server.dir.glob(".restore-*"))


def test_a_redis_that_does_not_come_back_gets_its_old_data(redis_server):
    redis_server.client().set("old", "1")
    redis_server.client().save()
    snapshot = b"".join(redis_dump_stream(redis_server.target()))
    redis_server.client().set("old", "2")
    if not redis_server.appendonly:
        redis_server.client().save()
    attempts = []

    def flaky_start():
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("supervisord said no")
        redis_server.start()

    with pytest.raises(RuntimeError, match="supervisord said no"):
        redis_restore_stream(
            redis_server.files(), [snapshot], stop=redis_server.stop, start=flaky_start
        )
    assert redis_server.client().get("old") == b"2"


def test_redis_dump_with_wrong_password_fails(redis_server):
    with pytest.raises(EngineError, match="refused the credentials"):
        b"".join(redis_dump_stream(RedisTarget(unix_socket=redis_server.socket, password="no")))
