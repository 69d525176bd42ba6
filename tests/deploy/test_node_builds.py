"""The Node.js builder (runtime/builders/node.py) on its own: what it runs for a checkout, its
web command when the Procfile names none, what it refuses, where its Node.js comes from, and
which of the operator's npm settings builds see. Deploys through the runtime:
test_node_apps.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from apps.deploy.runtime.base import BuildRefused
from apps.deploy.runtime.builders import BuildContext, build
from apps.deploy.runtime.builders import node as node_builder
from apps.deploy.runtime.process import run_streamed

SERVER = "require('http').createServer((q, s) => s.end('hi')).listen(process.env.PORT);\n"


def context(tmp_path: Path, checkout: Path, lines: list[str], commands: list | None = None):
    """A context that runs commands for real (as this user), or refuses to when `commands` is
    None; the commands run are appended to `commands`."""

    def run(argv, *, cwd, env, what, timeout_s, read_only=(), writable=()):
        if commands is None:  # pragma: no cover - must not be reached
            raise AssertionError(f"the build went on to run {argv}")
        commands.append([Path(argv[0]).name, *argv[1:]])
        return run_streamed(
            list(argv), cwd=cwd, env=dict(env), log=lines.append, timeout_s=timeout_s, what=what
        )

    def own(path, *, tree=False):
        path.mkdir(parents=True, exist_ok=True)
        return path

    return BuildContext(
        app_key="0" * 32,
        source_dir=str(checkout),
        app_dir=tmp_path / "app",
        tools_dir=tmp_path / "tools",
        run=run,
        own=own,
        log=lines.append,
        tick=lambda: None,
        timeout_s=60,
        python=sys.executable,
    )


def checkout_of(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "checkout"
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    return root


def test_without_a_lock_file_npm_install_runs_and_the_procfile_names_the_processes(tmp_path):
    package = {"name": "x", "version": "1.0.0", "scripts": {"test": "exit 1"}}
    checkout = checkout_of(
        tmp_path,
        {
            "package.json": json.dumps(package),
            "server.js": SERVER,
            "Procfile": "worker: node worker.js\nrelease: node migrate.js\n",
        },
    )
    lines: list[str] = []
    commands: list[list[str]] = []

    artefact = build(context(tmp_path, checkout, lines, commands))

    assert commands == [["npm", "install", "--include=dev", "--no-audit", "--no-fund"]]
    assert "No package-lock.json: `npm install` resolves versions now (commit one)." in lines
    assert (checkout / "package-lock.json").is_file()  # npm install wrote it
    assert artefact.kind == "node"
    # The Procfile's types, plus the default web process: npm's own default for `start`.
    assert artefact.process_types == {"worker": "node worker.js", "web": "node server.js"}
    assert artefact.release_command == "node migrate.js"
    home = tmp_path / "tools" / "node-24.19.0"
    assert artefact.path_dirs == (str(home / "bin"), str(checkout / "node_modules" / ".bin"))
    assert artefact.env["NODE_ENV"] == "production"
    assert artefact.read_only_paths == (str(home),)


def test_dev_dependencies_are_pruned_after_the_build(tmp_path):
    package = {
        "name": "x",
        "version": "1.0.0",
        "scripts": {
            "build": "node -e \"console.log(require('local-tool'), process.env.NODE_ENV)\""
        },
        "devDependencies": {"local-tool": "file:tool"},
    }
    checkout = checkout_of(
        tmp_path,
        {
            "package.json": json.dumps(package),
            "tool/package.json": json.dumps({"name": "local-tool", "version": "1.0.0"}),
            "tool/index.js": "module.exports = 'built with the dev tool in';\n",
            "server.js": SERVER,
        },
    )
    lines: list[str] = []
    commands: list[list[str]] = []

    build(context(tmp_path, checkout, lines, commands))

    assert [c[:2] for c in commands] == [["npm", "install"], ["npm", "run"], ["npm", "prune"]]
    assert "built with the dev tool in production" in lines  # dev dependencies for the build
    assert not (checkout / "node_modules" / "local-tool").exists()


@pytest.mark.parametrize(
    "package, files, web",
    [
        ({"scripts": {"start": "node app.js"}, "main": "x.js"}, {"server.js": ""}, "npm start"),
        ({"main": "lib/app.js"}, {"server.js": "", "lib/app.js": ""}, "node server.js"),
        ({"main": "lib/my app.js"}, {"lib/my app.js": ""}, "node 'lib/my app.js'"),
    ],
)
def test_the_default_web_command(tmp_path, package, files, web):
    checkout = checkout_of(tmp_path, {"package.json": json.dumps(package), **files})
    parsed = node_builder.read_package(str(checkout))
    assert node_builder.default_web(str(checkout), parsed) == web


@pytest.mark.parametrize(
    "package, files, refusal",
    [
        ({"main": "missing.js"}, {}, "This Node.js app has nothing to run"),
        ({"main": "../../etc/passwd"}, {}, "../../etc/passwd is outside the repository"),
        ("[1, 2]", {}, "package.json must be a JSON object"),
        ("{nope", {}, "package.json is not valid JSON"),
        ({"scripts": ["build"]}, {}, 'package.json\'s "scripts" must map names to commands'),
    ],
)
def test_what_the_node_builder_refuses(tmp_path, package, files, refusal):
    text = package if isinstance(package, str) else json.dumps(package)
    checkout = checkout_of(tmp_path, {"package.json": text, **files})
    with pytest.raises(BuildRefused, match=refusal.replace("(", r"\(").replace(".", r"\.")):
        build(context(tmp_path, checkout, []))


@pytest.fixture
def open_dir():
    """A directory every user can pass through (pytest's tmp_path is in a 0700 one)."""
    path = Path(tempfile.mkdtemp(prefix="qs-node-", dir="/tmp"))
    os.chmod(path, 0o755)  # noqa: S103 - that is its point
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_node_comes_from_the_wheel_as_an_install_everyone_can_run(open_dir):
    home = node_builder.node_home(open_dir / "tools")

    assert home == open_dir / "tools" / "node-24.19.0"
    wheel_node = node_builder.wheel_dir() / "bin" / "node"
    assert os.path.samestat(os.stat(home / "bin" / "node"), os.stat(wheel_node))  # linked
    env = {"PATH": f"{home / 'bin'}:/usr/bin:/bin", "HOME": str(open_dir)}
    as_user = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    prefix = as_user if os.geteuid() == 0 else []
    node = subprocess.run(
        [*prefix, str(home / "bin" / "node"), "--version"], capture_output=True, text=True, env=env
    )
    npm = subprocess.run(
        [*prefix, str(home / "bin" / "npm"), "--version"], capture_output=True, text=True, env=env
    )
    assert node.stdout.strip() == "v24.19.0", node.stderr
    assert npm.returncode == 0 and npm.stdout.strip()[0].isdigit(), npm.stderr
    assert node_builder.node_home(open_dir / "tools") == home  # made once


def test_files_only_quayside_may_read_are_copied_readable_for_everyone(tmp_path, monkeypatch):
    wheel = tmp_path / "wheel"
    (wheel / "bin").mkdir(parents=True)
    (wheel / "bin" / "node").write_text("#!/bin/sh\necho fake node\n")
    os.chmod(wheel / "bin" / "node", 0o700)
    cli = wheel / "lib" / "node_modules" / "npm" / "bin"
    cli.mkdir(parents=True)
    (cli / "npm-cli.js").write_text("// npm\n")
    os.chmod(cli / "npm-cli.js", 0o600)
    monkeypatch.setattr(node_builder, "wheel_dir", lambda: wheel)

    home = node_builder.node_home(tmp_path / "tools")

    copied = os.stat(home / "bin" / "node")
    assert copied.st_ino != os.stat(wheel / "bin" / "node").st_ino
    assert copied.st_mode & 0o777 == 0o755
    assert (home / "bin" / "npm").resolve() == (
        home / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    )
    assert os.stat(home / "bin" / "npm").st_mode & 0o777 == 0o644


def test_builds_see_the_operators_registry_but_not_its_tokens(tmp_path, monkeypatch):
    (tmp_path / ".npmrc").write_text(
        "registry=https://npm.example.com/\n"
        "@corp:registry=https://npm.corp.example/\n"
        "//npm.corp.example/:_authToken=s3cr3t\n"
        "cafile=/etc/ssl/corp.pem\n"
        "always-auth=true\n"
        "email=${NPM_EMAIL}\n"
    )
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NPM_CONFIG_REGISTRY", "https://mirror.example.com/")
    monkeypatch.setenv("npm_config__auth", "s3cr3t")
    monkeypatch.setenv("NODE_EXTRA_CA_CERTS", "/etc/ssl/proxy.pem")

    env = node_builder.operator_npm_env()

    assert env == {
        "npm_config_registry": "https://mirror.example.com/",  # the environment wins
        "npm_config_@corp:registry": "https://npm.corp.example/",
        "npm_config_cafile": "/etc/ssl/corp.pem",
        "NODE_EXTRA_CA_CERTS": "/etc/ssl/proxy.pem",  # Node's own, often set machine-wide
    }
