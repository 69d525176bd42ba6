"""Issue 13, part 3: the sandbox is installed by the two commands, and production never runs apps
unsandboxed unless DEPLOY_SANDBOX=off says so (then it warns on every start and on the
operator dashboard). apps/deploy/checks.py, scripts/runtime_deps.sh.

"Missing" is made real by a PATH without the sandbox's programs (missing_requirements() looks
them up on PATH), never by replacing the check."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from celery import Celery
from django.core import checks as django_checks
from django.core.management import CommandError, call_command

from apps.deploy import checks
from apps.deploy.runtime import sandbox

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPT = ROOT / "scripts" / "runtime_deps.sh"
SBIN = ("/usr/sbin", "/sbin")


def shell_pairs(name: str) -> dict[str, str]:
    text = re.search(rf'{name}="([^"]*)"', SCRIPT.read_text(), re.S)
    assert text, f"scripts/runtime_deps.sh lost its {name} list"
    return dict(pair.split(":", 1) for pair in text.group(1).split())


def test_the_shell_list_is_the_python_list():
    """One list: scripts/runtime_deps.sh installs what missing_requirements() asks for (and
    socat, for apps that listen on $PORT)."""
    assert shell_pairs("SANDBOX_TOOLS") == sandbox.REQUIRED_TOOLS
    assert sorted(set(shell_pairs("SANDBOX_TOOLS").values())) == sandbox.DEBIAN_PACKAGES
    assert shell_pairs("PORT_APP_TOOLS") == {"socat": "socat"}


def not_in_sbin() -> list[str]:
    """Packages whose program the script cannot find with PATH empty (it also looks in sbin)."""
    found = []
    pairs = {**shell_pairs("SANDBOX_TOOLS"), **shell_pairs("PORT_APP_TOOLS")}
    for tool, package in pairs.items():
        if not any(os.access(f"{d}/{tool}", os.X_OK) for d in SBIN) and package not in found:
            found.append(package)
    return found


def run_script(*args: str, env: dict[str, str], user: int | None = None):
    argv = ["/bin/bash", "-s", *args]
    if user is not None:
        prefix = [shutil.which("setpriv") or "setpriv", f"--reuid={user}", f"--regid={user}"]
        argv = [*prefix, "--clear-groups", *argv]
    return subprocess.run(
        argv, input=SCRIPT.read_text(), env=env, capture_output=True, text=True, timeout=30
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="drops to another user to be 'not root'")
def test_make_run_as_a_user_says_what_to_install_and_what_off_means():
    done = run_script("run", env={"PATH": "/nonexistent"}, user=65534)
    assert done.returncode == 0
    missing = not_in_sbin()
    assert missing, "every program is in sbin: nothing to report"
    assert f"sudo apt-get install -y {' '.join(missing)}" in done.stderr
    assert "needs root" in done.stderr
    assert "DEPLOY_SANDBOX=off runs apps unsandboxed" in done.stderr
    assert "development only" in done.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="the install branch runs as root")
def test_apt_is_asked_only_for_what_is_missing_and_an_unreachable_mirror_does_not_fail(
    tmp_path,
):
    """As root: nothing missing, apt is not touched (make test with the network cut); something
    missing and apt failing (no mirror), the script reports it and still succeeds."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "apt-calls"
    fake_apt = bin_dir / "apt-get"
    fake_apt.write_text(f'#!/bin/sh\necho "$@" >> {calls}\necho "E: unreachable" >&2\nexit 100\n')
    fake_apt.chmod(0o755)
    real_path = f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"
    tools = {**shell_pairs("SANDBOX_TOOLS"), **shell_pairs("PORT_APP_TOOLS")}
    if any(not shutil.which(t, path=f"{real_path}:/usr/sbin:/sbin") for t in tools):
        pytest.skip("the runtime's programs are not all installed here")

    done = run_script("test", env={"PATH": real_path})
    assert done.returncode == 0 and done.stderr == ""
    assert not calls.exists()

    done = run_script("test", env={"PATH": str(bin_dir)})
    assert done.returncode == 0
    assert calls.read_text().splitlines()[0] == "update -qq"
    assert f"apt-get install -y {' '.join(not_in_sbin())}" in done.stderr


def test_sandbox_off_is_a_system_check_warning(settings):
    settings.DEPLOY_SANDBOX = "off"
    found = [m for m in django_checks.run_checks() if m.id == "deploy.W001"]
    assert [(m.level, m.msg) for m in found] == [(django_checks.WARNING, checks.OFF_WARNING)]
    settings.DEPLOY_SANDBOX = "on"
    assert not [m for m in django_checks.run_checks() if m.id == "deploy.W001"]


@pytest.fixture
def no_sandbox_programs(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    return sandbox.missing_requirements()


def test_production_check_deploy_is_an_error_when_the_sandbox_cannot_run(
    settings, no_sandbox_programs
):
    settings.DEPLOY_SANDBOX = "on"
    settings.DEPLOY_SANDBOX_REQUIRED = True
    found = [
        m for m in django_checks.run_checks(include_deployment_checks=True) if m.id == "deploy.E001"
    ]
    assert len(found) == 1 and found[0].level == django_checks.ERROR
    assert found[0].msg == (
        "The local runtime will not start: DEPLOY_SANDBOX is on, but the app sandbox cannot run "
        "on this host: " + "; ".join(no_sandbox_programs) + ". Fix that (docs/deploy.md, "
        '"Installing the sandbox"), or set DEPLOY_SANDBOX=off to run apps unsandboxed '
        "(development only)."
    )
    assert "missing programs: apt-get install bubblewrap" in found[0].msg
    # Outside production the processes start (deployments fail, naming the same problems).
    settings.DEPLOY_SANDBOX_REQUIRED = False
    messages = django_checks.run_checks(include_deployment_checks=True)
    assert not [m for m in messages if m.id == "deploy.E001"]


def worker(*, queues: list[str] | None = None) -> SimpleNamespace:
    """What worker_init hands its receivers: the WorkController, with its app's queues selected
    as `celery worker -Q …` selects them."""
    app = Celery("sandbox-check-test", set_as_current=False)
    app.conf.task_default_queue = "celery"
    if queues:
        app.amqp.queues.select(queues)
    return SimpleNamespace(app=app, hostname="w1@test")


def test_a_deploying_worker_refuses_to_start_in_production(settings, no_sandbox_programs):
    settings.DEPLOY_SANDBOX = "on"
    settings.DEPLOY_SANDBOX_REQUIRED = True
    with pytest.raises(SystemExit) as exc:  # Celery swallows Exceptions raised by receivers
        checks.on_worker_init(sender=worker())
    assert str(exc.value) == checks.refusal_message(no_sandbox_programs)
    # The monitoring runners (`-Q checks`) never run apps: nothing is asked of them.
    checks.on_worker_init(sender=worker(queues=["checks"]))


def test_a_worker_warns_on_every_start_when_the_sandbox_is_off(settings, caplog):
    settings.DEPLOY_SANDBOX = "off"
    settings.DEPLOY_SANDBOX_REQUIRED = True
    with caplog.at_level(logging.WARNING, logger="apps.deploy.checks"):
        checks.on_worker_init(sender=worker())
        checks.on_worker_init(sender=worker())
    lines = [r.getMessage() for r in caplog.records if r.name == "apps.deploy.checks"]
    assert lines == [f"worker w1@test: {checks.OFF_WARNING}"] * 2


def test_the_worker_process_really_exits(no_sandbox_programs):
    """The real `celery worker` with production settings: it exits before reaching the broker
    (a dead port here), with the message."""
    env = {
        "HOME": os.environ.get("HOME", "/root"),
        "PATH": "/nonexistent",
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "test-only",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://127.0.0.1/x"),
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    celery = str(ROOT / ".venv" / "bin" / "celery")
    done = subprocess.run(
        [celery, "-A", "config", "worker", "-l", "warning"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr[-2000:]
    assert checks.refusal_message(no_sandbox_programs) in done.stderr


@pytest.mark.django_db
def test_deploy_runtime_render_refuses_or_warns(settings, no_sandbox_programs):
    settings.DEPLOY_SANDBOX = "on"
    settings.DEPLOY_SANDBOX_REQUIRED = True
    with pytest.raises(CommandError) as exc:
        call_command("deploy_runtime", "render")
    assert str(exc.value) == checks.refusal_message(no_sandbox_programs)

    settings.DEPLOY_SANDBOX = "off"
    root = Path(tempfile.mkdtemp(prefix="qs-chk-", dir="/tmp"))
    root.chmod(0o755)  # apps' user (nobody, as root with the sandbox off) must reach it
    settings.DEPLOY_RUNTIME_DIR = str(root)
    try:
        out, err = _render()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    assert out.strip().endswith("supervisord.conf")
    assert f"Warning: {checks.OFF_WARNING}" in err


def _render() -> tuple[str, str]:
    import io

    out, err = io.StringIO(), io.StringIO()
    call_command("deploy_runtime", "render", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_the_operator_dashboard_shows_the_warning_while_the_sandbox_is_off(client, world, settings):
    client.force_login(world["operator"])
    settings.DEPLOY_SANDBOX = "off"
    html = client.get("/admin/").content.decode()
    assert 'id="sandbox-warning"' in html
    assert "Apps run unsandboxed." in html
    assert "any app can reach Quayside&#x27;s database" in html
    settings.DEPLOY_SANDBOX = "on"
    html = client.get("/admin/").content.decode()
    assert 'id="sandbox-warning"' not in html
