"""A hostile app against the sandbox (issue 13): its build step (setup.py), its release command
and its running process try to reach Quayside's services, files and sockets, another app's
socket, files and environment, the host's addresses, to write outside their directories, to
fork without end and to fill their disk. Every attempt must fail, while the hostile app still
serves its own requests and the other app and Quayside go on unaffected.

The same attack code run on the host, unsandboxed, reaches most of these targets
(test_the_attacks_reach_their_targets_without_a_sandbox): the test can fail."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import tenant_context

from apps.deploy.runtime.sandbox import enabled as sandbox_enabled
from apps.deploy.runtime.sandbox import network

from .conftest import GitRepo
from .sandbox_support import (
    HOSTILE,
    Listener,
    buildhook_wheelhouse,
    hostile_repo,
    pids_with,
    uids_of,
)

pytestmark = [
    pytest.mark.runtime,
    pytest.mark.django_db,
    pytest.mark.skipif(not sandbox_enabled(), reason="DEPLOY_SANDBOX=off"),
]

LIMITS = {"memory_mb": 128, "cpu_millicores": 500, "pids": 48, "disk_mb": 64}
SECRET = "victim-secret-7f3a9c"


def set_limits(tenant, **limits) -> None:
    tenant.entitlement_overrides = {**(tenant.entitlement_overrides or {}), **limits}
    tenant.save(update_fields=["entitlement_overrides"])


def deploy_victim(deployer, repo: GitRepo):
    from apps.deploy import services

    victim = deployer.create(repo)
    with tenant_context(deployer.tenant):
        services.env_vars_update(
            app=victim,
            tenant=deployer.tenant,
            actor=services.Actor.system("test"),
            changes={"VICTIM_SECRET": SECRET},
            restart=False,
        )
    deployment = deployer.deploy(victim)
    assert deployment.state == "live", deployment.failure_reason
    with tenant_context(deployer.tenant):
        deployment.source_dir = deployment.build.source_dir
    return victim, deployment


def targets_for(runtime, victim, deployment, listener: Listener) -> dict:
    from apps.deploy.pipeline import deployment_key

    root = Path(runtime.root)
    key, dep = victim.pk.hex, deployment_key(deployment)
    victim_pids = [p for p in pids_with(f"bind/{key}/") if uids_of(p)[0] != 0]
    assert victim_pids, "the victim's gunicorn is not running"
    return {
        "caddy_port": runtime.port,
        "host_addresses": sorted(network.host_addresses()),
        "host_listener_port": listener.port,
        "other_socket": str(root / "bind" / key / f"{dep}-web-0.sock"),
        "other_stable_socket": str(root / "sockets" / f"{key}.web.0.sock"),
        "supervisor_socket": str(root / "supervisor" / "supervisor.sock"),
        "caddy_admin": str(root / "caddy" / "admin.sock"),
        "checkout_file": str(Path(settings.BASE_DIR) / "manage.py"),
        "env_file": str(Path(settings.BASE_DIR) / "pyproject.toml"),
        "other_app_file": str(Path(deployment.source_dir) / "app.py"),
        "caddy_key_dir": str(root / "caddy" / "data"),
        "runtime_dir": str(root),
        "other_app_dir": str(root / "apps" / key),
        "checkout_dir": str(settings.BASE_DIR),
        "other_pid": victim_pids[0],
        "other_secret": SECRET,
    }


def assert_all_blocked(results: dict, where: str, at_least: int = 28) -> None:
    reached = {name: result for name, result in results.items() if not result.startswith("blocked")}
    assert not reached, f"{where}: attacks that worked: {json.dumps(reached, indent=1)}"
    assert len(results) >= at_least, results  # every attack ran


@pytest.fixture
def operator_find_links(monkeypatch):
    """Set the operator's PIP_FIND_LINKS for builds (operator_pip_env reads it once)."""
    from apps.deploy.runtime.builders.python import operator_pip_env

    def use(directory: str) -> None:
        monkeypatch.setenv("PIP_FIND_LINKS", directory)
        operator_pip_env.cache_clear()

    yield use
    monkeypatch.undo()
    operator_pip_env.cache_clear()


def test_hostile_build_release_and_process_reach_nothing(
    deployer, runtime, tmp_path, operator_find_links
):
    set_limits(deployer.tenant, **LIMITS)
    listener = Listener()
    wheelhouse = ""
    try:
        victim, victim_deployment = deploy_victim(deployer, GitRepo(tmp_path / "victim"))
        repo = GitRepo(tmp_path / "hostile")
        targets = targets_for(runtime, victim, victim_deployment, listener)
        wheelhouse = buildhook_wheelhouse(targets)
        operator_find_links(wheelhouse)
        hostile_repo(repo, targets=targets)
        hostile = deployer.create(repo)
        deployment = deployer.deploy(hostile)
        if deployment.state != "live":
            pytest.fail(f"{deployment.failure_reason}\n{deployer.logs(deployment)[-4000:]}")

        home = Path(runtime.root) / "apps" / hostile.pk.hex / "home"
        build_home = home.parent / "cache" / "home"  # builds have a HOME of their own
        build = json.loads((build_home / "attacks-build.json").read_text())
        release = json.loads((home / "attacks-release.json").read_text())
        answer = httpx.get(
            f"http://127.0.0.1:{runtime.port}/attacks?heavy=1",
            headers={"Host": deployer.hostname(hostile)},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
        running = answer.json()
        assert_all_blocked(build, "build step (setup.py)")
        assert_all_blocked(release, "release command")
        assert_all_blocked(running, "web process")
        assert "No space left" in running["fill_disk"], running["fill_disk"]
        assert int(running["fill_disk"].split()[2]) <= LIMITS["disk_mb"]
        assert int(running["fork_bomb"].split()[2]) < LIMITS["pids"]
        assert listener.accepted == 0

        # Seen from the host: the app's processes run as its own uid (not root, not nobody,
        # not the victim's), all four of real, effective, saved and filesystem uid.
        hostile_pids = [p for p in pids_with("server.py") if uids_of(p)[0] != 0]
        victim_uid = uids_of(targets["other_pid"])[0]
        assert hostile_pids
        uid = uids_of(hostile_pids[0])
        assert len(set(uid)) == 1 and uid[0] >= 1000 and uid[0] not in (65534, victim_uid), uid
        assert victim_uid >= 1000 and victim_uid != 65534

        # Both apps still serve, and Quayside's database answers.
        assert runtime.get(deployer.hostname(hostile), "/").status_code == 200
        victim_answer = runtime.get(deployer.hostname(victim), "/")
        assert victim_answer.status_code == 200 and victim_answer.text == "v1"
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        root = Path(runtime.root)
        for path in ("/usr/pwned", "/etc/pwned", "/pwned", root / "pwned", root / "sockets/pwned"):
            assert not os.path.exists(path)
        # The one-off commands' environment files (build steps, the release command) are
        # removed once the command has opened them.
        assert not list((root / "run" / hostile.pk.hex).glob("*/env-*"))
    finally:
        listener.close()
        shutil.rmtree(wheelhouse, ignore_errors=True)


def test_the_attacks_reach_their_targets_without_a_sandbox(runtime, tmp_path):
    """The attack code is not broken: on the host (as this test runs, root), it gets through."""
    import sys

    sys.path.insert(0, str(HOSTILE))
    try:
        import attacks
    finally:
        sys.path.remove(str(HOSTILE))
    listener = Listener()
    try:
        (HOSTILE / "TARGETS.json").write_text(
            json.dumps(
                {
                    "caddy_port": runtime.port,
                    "runtime_dir": runtime.root,
                    "checkout_file": str(Path(settings.BASE_DIR) / "manage.py"),
                    "supervisor_socket": str(Path(runtime.root) / "supervisor" / "supervisor.sock"),
                    "host_addresses": ["127.0.0.1"],
                    "host_listener_port": listener.port,
                }
            )
        )
        results = attacks.run_all(heavy=False, writes=False)  # not on this host's /usr
    finally:
        (HOSTILE / "TARGETS.json").unlink(missing_ok=True)
        listener.close()
    for name in ("tcp_caddy", "supervisor_socket", "read_checkout_file", "list_runtime_dir",
                 "tcp_host_127.0.0.1"):  # fmt: skip
        assert results[name].startswith("REACHED"), (name, results[name])


NODE_SERVER = """
const http = require("http");
http.createServer((req, res) => res.end(`node ${process.getuid()}`))
  .listen(Number(process.env.PORT));
"""


def test_a_hostile_npm_postinstall_reaches_nothing(deployer, runtime, tmp_path):
    """The same attacks from a Node.js app's `postinstall` script (npm runs it during the
    build, with the build's rights)."""
    set_limits(deployer.tenant, **LIMITS)
    listener = Listener()
    try:
        root = Path(runtime.root)
        targets = {
            "caddy_port": runtime.port,
            "host_addresses": sorted(network.host_addresses()),
            "host_listener_port": listener.port,
            "supervisor_socket": str(root / "supervisor" / "supervisor.sock"),
            "caddy_admin": str(root / "caddy" / "admin.sock"),
            "checkout_file": str(Path(settings.BASE_DIR) / "manage.py"),
            "env_file": str(Path(settings.BASE_DIR) / "pyproject.toml"),
            "caddy_key_dir": str(root / "caddy" / "data"),
            "runtime_dir": str(root),
            "checkout_dir": str(settings.BASE_DIR),
        }
        repo = GitRepo(tmp_path / "hostile-node")
        package = {
            "name": "hostile",
            "version": "1.0.0",
            "scripts": {"postinstall": "python3 attacks.py postinstall", "start": "node s.js"},
        }
        repo.commit(
            {
                "app.py": None,
                "VERSION": None,
                "requirements.txt": None,
                "Procfile": None,
                "package.json": json.dumps(package),
                "s.js": NODE_SERVER,
                "attacks.py": (HOSTILE / "attacks.py").read_text(),
                "TARGETS.json": json.dumps(targets),
            },
            "hostile node",
        )
        app = deployer.create(repo)
        deployment = deployer.deploy(app)
        if deployment.state != "live":
            pytest.fail(f"{deployment.failure_reason}\n{deployer.logs(deployment)[-4000:]}")
        build_home = root / "apps" / app.pk.hex / "cache" / "home"
        results = json.loads((build_home / "attacks-postinstall.json").read_text())
        assert_all_blocked(results, "npm postinstall", at_least=20)
        assert "No space left" in results["fill_disk"], results["fill_disk"]
        answer = runtime.get(deployer.hostname(app), "/")
        assert answer.status_code == 200 and answer.text.startswith("node ")
        assert int(answer.text.split()[1]) >= 1000  # the app's own uid, seen from inside
        assert listener.accepted == 0
    finally:
        listener.close()
