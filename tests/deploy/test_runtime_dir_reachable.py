"""Issue 11, defect 4: `make run` from a checkout the apps' user cannot enter (a clone in root's
0700 home). The default DEPLOY_RUNTIME_DIR must then be a per-checkout directory every user can
reach (/var/tmp/quayside-<hash>/runtime), with socket paths that fit, made safely in that
world-writable place; `manage.py deploy_runtime render` (what raised the CommandError) works."""

from __future__ import annotations

import os
import runpy
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from apps.core import local_dirs
from apps.deploy.runtime import RuntimeProblem
from apps.deploy.runtime.builders import python as builder
from apps.deploy.runtime.local import LocalProvider
from apps.deploy.runtime.process import RunAs

ROOT = Path(__file__).resolve().parent.parent.parent
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="apps run as another user only as root")


def as_nobody(*command: str) -> subprocess.CompletedProcess:
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    return subprocess.run([runuser, "-u", "nobody", "--", *command], capture_output=True)


@pytest.fixture
def closed_checkout() -> Iterator[Path]:
    """A "checkout" in a 0700 directory (like /root/quayside), and its /var/tmp directory
    removed afterwards."""
    parent = Path(tempfile.mkdtemp(prefix="qs-home-", dir="/tmp"))
    parent.chmod(0o700)
    checkout = parent / "quayside"
    checkout.mkdir()
    yield checkout
    shutil.rmtree(parent, ignore_errors=True)
    shutil.rmtree(local_dirs.shared_base(checkout), ignore_errors=True)


def test_a_reachable_checkout_keeps_its_runtime_in_dot_local():
    checkout = Path(tempfile.mkdtemp(prefix="qs-co-", dir="/tmp"))
    try:
        checkout.chmod(0o755)
        assert local_dirs.runtime_dir_default(checkout) == checkout / ".local" / "runtime"
    finally:
        shutil.rmtree(checkout)


def test_a_checkout_under_a_0700_directory_gets_its_runtime_under_var_tmp(closed_checkout):
    runtime = local_dirs.runtime_dir_default(closed_checkout)

    assert runtime == local_dirs.shared_base(closed_checkout) / "runtime"
    assert runtime.parent.parent == local_dirs.SHARED_PARENT == Path("/var/tmp")  # noqa: S108
    assert runtime.parent.name == f"quayside-{local_dirs.checkout_hash(closed_checkout)}"
    # Another checkout gets another directory.
    assert local_dirs.runtime_dir_default(closed_checkout.parent / "other") != runtime


def test_a_checkout_whose_sockets_would_not_fit_gets_its_runtime_under_var_tmp():
    deep = Path(tempfile.mkdtemp(prefix="qs-co-", dir="/tmp"))
    try:
        deep.chmod(0o755)
        checkout = deep / ("long-checkout-name-" * 2)
        checkout.mkdir()
        runtime = local_dirs.runtime_dir_default(checkout)
        assert runtime == local_dirs.shared_base(checkout) / "runtime"
        assert len(str(runtime)) + local_dirs.LONGEST_RUNTIME_SOCKET_SUFFIX <= 107
    finally:
        shutil.rmtree(deep)


def test_the_settings_default_follows_the_checkout(closed_checkout, monkeypatch):
    """config/settings/deploy.py, as it would be read in a checkout under a 0700 directory."""
    settings_file = closed_checkout / "config" / "settings" / "deploy.py"
    settings_file.parent.mkdir(parents=True)
    shutil.copy(ROOT / "config" / "settings" / "deploy.py", settings_file)
    monkeypatch.delenv("DEPLOY_RUNTIME_DIR", raising=False)

    namespace = runpy.run_path(str(settings_file))

    assert namespace["DEPLOY_RUNTIME_DIR"] == str(
        local_dirs.shared_base(closed_checkout) / "runtime"
    )


def test_make_run_exports_the_same_default(closed_checkout):
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import runlocal
    finally:
        sys.path.remove(str(ROOT / "scripts"))

    exports, _warnings = runlocal.run_env({}, checkout=closed_checkout)

    assert exports["DEPLOY_RUNTIME_DIR"] == str(local_dirs.runtime_dir_default(closed_checkout))
    explicit, _ = runlocal.run_env({"DEPLOY_RUNTIME_DIR": "/srv/rt"}, checkout=closed_checkout)
    assert explicit["DEPLOY_RUNTIME_DIR"] == "/srv/rt"


@as_root
@pytest.mark.django_db
def test_render_works_for_a_checkout_under_a_0700_directory(closed_checkout):
    runtime = local_dirs.runtime_dir_default(closed_checkout)
    old_default = closed_checkout / ".local" / "runtime"
    out = StringIO()

    with override_settings(DEPLOY_RUNTIME_DIR=str(runtime), DEPLOY_RUN_AS_USER="nobody"):
        call_command("deploy_runtime", "render", stdout=out)
    with (
        override_settings(DEPLOY_RUNTIME_DIR=str(old_default), DEPLOY_RUN_AS_USER="nobody"),
        pytest.raises(CommandError, match="who cannot reach DEPLOY_RUNTIME_DIR"),
    ):
        call_command("deploy_runtime", "render", stdout=StringIO())

    assert out.getvalue().strip() == str(runtime / "supervisor" / "supervisord.conf")
    # The apps' user can reach what it needs: the directories of sockets, builds and homes.
    for name in ("sockets", "bind", "apps", "home", "tools", "logs"):
        path = runtime / name
        path.mkdir(exist_ok=True)
        assert as_nobody("test", "-x", str(path)).returncode == 0, path
    assert as_nobody("ls", str(runtime / "sockets")).returncode == 0
    # …and nothing of the checkout (nor the private supervisord/Caddy directories).
    assert as_nobody("test", "-x", str(closed_checkout)).returncode != 0
    assert as_nobody("ls", str(runtime / "supervisor")).returncode != 0
    assert (runtime.parent.stat().st_mode & 0o777) == 0o755


@as_root
def test_the_runtime_dir_is_made_reachable_whatever_the_umask(closed_checkout):
    runtime = local_dirs.runtime_dir_default(closed_checkout)
    old = os.umask(0o077)
    try:
        with override_settings(DEPLOY_RUN_AS_USER="nobody"):
            LocalProvider(str(runtime)).layout()
    finally:
        os.umask(old)

    assert as_nobody("test", "-x", str(runtime / "sockets")).returncode == 0


@as_root
@pytest.mark.parametrize("planted", ["someone else's directory", "a symlink"])
def test_a_runtime_dir_planted_in_var_tmp_by_someone_else_is_refused(closed_checkout, planted):
    base = local_dirs.shared_base(closed_checkout)
    decoy = closed_checkout / "decoy"
    if planted == "a symlink":
        decoy.mkdir()
        base.symlink_to(decoy)
    else:
        base.mkdir()
        os.chown(base, 65534, 65534)  # nobody
    try:
        with (
            override_settings(DEPLOY_RUN_AS_USER="nobody"),
            pytest.raises(RuntimeProblem, match="belongs to someone else"),
        ):
            LocalProvider(str(local_dirs.runtime_dir_default(closed_checkout))).layout()
    finally:
        if base.is_symlink():
            base.unlink()

    assert not (decoy / "runtime").exists()


@as_root
def test_app_virtualenvs_are_not_made_from_an_interpreter_the_app_user_cannot_reach(
    closed_checkout, monkeypatch
):
    """Quayside's own .venv python in a 0700 checkout (or pyenv in /root): the builder takes the
    system's instead."""
    own = closed_checkout / ".venv" / "bin" / "python"
    own.parent.mkdir(parents=True)
    own.write_text("#!/bin/sh\n")
    own.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(own))
    nobody = RunAs.resolve("nobody")

    python = builder.default_python(nobody)

    assert python != str(own)
    assert as_nobody(python, "-c", "pass").returncode == 0
