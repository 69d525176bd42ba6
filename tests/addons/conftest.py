"""Fixtures of the add-on tests: apps deployed on the session's real runtime (supervisord, the
sandbox, the add-ons' own PostgreSQL cluster and redis-servers), in tenant alpha or bravo, and
callers of each role in alpha.

Deployments run inline in this process (as in tests/deploy); the add-on services' hand-offs to
Celery are recorded instead of sent, and tests run the provisioning themselves."""

from __future__ import annotations

import json
import textwrap
import uuid
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django_tenants.utils import tenant_context

from apps.tenants.models import Membership
from tests.deploy.conftest import Deployer, GitRepo

PROBE_APP = textwrap.dedent(
    """
    import json
    import os
    import socket
    from urllib.parse import parse_qs


    def probe(kind, target):
        try:
            if kind == "unix":
                conn = socket.socket(socket.AF_UNIX)
                conn.settimeout(2)
                conn.connect(target)
            else:
                host, port = target.rsplit(":", 1)
                conn = socket.create_connection((host, int(port)), timeout=2)
            conn.close()
            return "connected"
        except OSError as exc:
            return f"refused: {type(exc).__name__}"


    def pg(action, n):
        import psycopg

        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text)")
            if action == "write":
                for i in range(n):
                    conn.execute("INSERT INTO notes (body) VALUES (%s)", [f"note {i}"])
            elif action == "delete":
                conn.execute("DELETE FROM notes")
            return conn.execute("SELECT count(*) FROM notes").fetchone()[0]


    def rd(action, n):
        import redis

        client = redis.Redis.from_url(os.environ["REDIS_URL"])
        if action == "write":
            for i in range(n):
                client.set(f"key:{i}", i)
        elif action == "flush":
            client.flushdb()
        return client.dbsize()


    def app(environ, start_response):
        path = environ["PATH_INFO"]
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        try:
            if path == "/healthz":
                out = "ok"
            elif path == "/probe":
                out = probe(query["kind"], query["target"])
            elif path.startswith("/pg/"):
                out = pg(path[4:], int(query.get("n", 0)))
            elif path.startswith("/redis/"):
                out = rd(path[7:], int(query.get("n", 0)))
            elif path == "/env":
                out = os.environ.get(query["name"], "")
            elif path == "/" and os.environ.get("DATABASE_URL"):
                out = pg("count", 0)  # what the load during a rotation asks
            else:
                out = "hello"
            status = "200 OK"
        except Exception as exc:
            out, status = f"{type(exc).__name__}: {exc}", "500 Error"
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps(out).encode()]
    """
).lstrip()
PROCFILE = "web: gunicorn --bind unix:$QUAYSIDE_SOCKET --workers 1 app:app\n"
DB_REQUIREMENTS = "gunicorn>=23,<28\npsycopg[binary]>=3.2,<4\nredis>=5,<9\n"


# A Node.js app with no dependencies (nothing is downloaded): it speaks Redis's protocol to its
# add-on through REDIS_URL's unix socket itself, and probes sockets like the Python one. Packaged
# with `pg` (node_pg_repo), it also writes, counts and deletes rows through DATABASE_URL.
NODE_SERVER = textwrap.dedent(
    """
    const http = require("http");
    const net = require("net");

    function redis(commands) {
      return new Promise((resolve, reject) => {
        const m = /^unix:\\/\\/(?::([^@]*)@)?(.*)$/.exec(process.env.REDIS_URL || "");
        if (!m) return reject(new Error("no REDIS_URL"));
        const all = [["AUTH", decodeURIComponent(m[1] || "")], ...commands];
        const wire = all.map((args) => `*${args.length}\\r\\n` + args.map((a) =>
          `$${Buffer.byteLength(String(a))}\\r\\n${a}\\r\\n`).join("")).join("");
        const sock = net.createConnection(m[2], () => sock.write(wire));
        let text = "";
        sock.on("data", (chunk) => {
          text += chunk;
          const replies = text.split("\\r\\n").filter((l) => l && !l.startsWith("$"));
          if (replies.length >= all.length) { sock.end(); resolve(replies); }
        });
        sock.on("error", reject);
      });
    }

    let pool;
    async function pg(action, n) {
      // `pg` is there only in the app packaged with it (node_pg_repo).
      const { Pool } = require("pg");
      pool = pool || new Pool({ connectionString: process.env.DATABASE_URL, max: 1 });
      await pool.query("CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text)");
      if (action === "write") {
        await pool.query(
          "INSERT INTO notes (body) SELECT 'note ' || g FROM generate_series(1, $1::int) g", [n]);
      } else if (action === "delete") await pool.query("DELETE FROM notes");
      const { rows } = await pool.query("SELECT count(*)::int AS n FROM notes");
      return rows[0].n;
    }

    function probe(target) {
      return new Promise((resolve) => {
        const sock = net.createConnection(target, () => { sock.end(); resolve("connected"); });
        sock.on("error", (e) => resolve(`refused: ${e.code}`));
      });
    }

    http.createServer(async (req, res) => {
      const url = new URL(req.url, "http://app");
      let out;
      try {
        if (url.pathname === "/healthz") out = "ok";
        else if (url.pathname === "/probe") out = await probe(url.searchParams.get("target"));
        else if (url.pathname.startsWith("/redis/")) {
          const n = Number(url.searchParams.get("n") || 0);
          const action = url.pathname.slice(7);
          const commands = action === "write"
            ? [...Array(n).keys()].map((i) => ["SET", `node:${i}`, String(i)])
            : action === "flush" ? [["FLUSHDB"]] : [];
          const replies = await redis([...commands, ["DBSIZE"]]);
          out = Number(replies[replies.length - 1].slice(1));
        } else if (url.pathname.startsWith("/pg/")) {
          out = await pg(url.pathname.slice(4), Number(url.searchParams.get("n") || 0));
        } else out = "hello";
      } catch (e) { res.statusCode = 500; out = String(e); }
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify(out));
    }).listen(Number(process.env.PORT));
    """
).lstrip()
NODE_PACKAGE = {"name": "addon-probe", "version": "1.0.0", "private": True,
                "scripts": {"start": "node server.js"}}  # fmt: skip
NODE_LOCK = {"name": "addon-probe", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
             "packages": {"": {"name": "addon-probe", "version": "1.0.0"}}}  # fmt: skip


def node_repo(path) -> GitRepo:
    repo = GitRepo(path)
    repo.commit(
        {
            "app.py": None,
            "requirements.txt": None,
            "Procfile": None,
            "package.json": json.dumps(NODE_PACKAGE, indent=2) + "\n",
            "package-lock.json": json.dumps(NODE_LOCK, indent=2) + "\n",
            "server.js": NODE_SERVER,
        },
        "node app",
    )
    return repo


NODE_PG_DIR = Path(__file__).parent / "node_pg"


def node_pg_repo(path) -> GitRepo:
    """The Node.js app with one dependency, `pg` (PostgreSQL's client; its package-lock.json in
    tests/addons/node_pg/): the builder's `npm ci` downloads it from the npm registry."""
    repo = node_repo(path)
    repo.commit(
        {name: (NODE_PG_DIR / name).read_text() for name in ("package.json", "package-lock.json")},
        "pg",
    )
    return repo


def probe_repo(path, *, clients: bool) -> GitRepo:
    repo = GitRepo(path)
    repo.commit(
        {
            "app.py": PROBE_APP,
            "Procfile": PROCFILE,
            "requirements.txt": DB_REQUIREMENTS if clients else "gunicorn>=23,<28\n",
        },
        "probe app",
    )
    return repo


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    """Record what the services would send to Celery; tests run it themselves."""
    from apps.addons import services as addon_services
    from apps.deploy import services, suspension

    sent: list = []
    monkeypatch.setattr(services, "enqueue_deployment", lambda pk: sent.append(("deploy", pk)))
    monkeypatch.setattr(services, "enqueue_reconcile", lambda pk: sent.append(("reconcile", pk)))
    monkeypatch.setattr(
        suspension, "enqueue_tenant_reconcile", lambda pk: sent.append(("reconcile_tenant", pk))
    )
    for name in ("enqueue_provision", "enqueue_destroy", "enqueue_rotation_finish"):
        monkeypatch.setattr(
            addon_services, name, lambda pk, *a, _n=name, **k: sent.append((_n, pk))
        )
    return sent


@pytest.fixture
def deployer(world, runtime, db):
    helper = Deployer(world, runtime)
    yield helper
    helper.cleanup()


@pytest.fixture
def deployer_b(world, runtime, db):
    """Deploys apps in tenant bravo (a stranger to alpha)."""
    helper = Deployer(world, runtime)
    helper.tenant = world["tenant_b"]
    yield helper
    helper.cleanup()


@pytest.fixture
def roles(world, db) -> dict:
    """alpha's callers by role (owner alice; admin, member, viewer made here)."""
    alpha = world["tenant_a"]
    people = {"owner": world["alice"]}
    for role in ("admin", "member", "viewer"):
        user = get_user_model().objects.create_user(
            username=(email := f"{role}-{uuid.uuid4().hex[:6]}@example.com"),
            email=email,
            password="pw",
        )
        Membership.objects.create(tenant=alpha, user=user, role=role)
        people[role] = user
    return people


def app_in(tenant, user, name: str | None = None):
    """An app (not deployed) in `tenant`, made through deploy's services."""
    from apps.deploy import services

    with tenant_context(tenant):
        app, _secret = services.app_create(
            tenant=tenant,
            actor=services.Actor(user=user),
            name=name or f"t{uuid.uuid4().hex[:8]}",
            git_url="",
        )
    return app
