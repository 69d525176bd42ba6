"""Build caches are per app: two apps with the same dependencies get a virtualenv and a pip cache
each (under their own app directory, never one shared by all apps, which another tenant's build
could poison), and each app's redeploys reuse its own. The app here is Python's http.server on
$PORT, so it also shows the socket forwarder serving a Python app."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django_tenants.utils import tenant_context

from apps.deploy.models import Build

pytestmark = [
    pytest.mark.runtime,
    pytest.mark.django_db,
    pytest.mark.skipif(shutil.which("socat") is None, reason="socat is not installed"),
]


def venv_of(deployer, deployment) -> Path:
    with tenant_context(deployer.tenant):
        return Path(Build.objects.get(pk=deployment.build_id).venv_dir)


def test_each_app_has_its_own_virtualenv_and_pip_cache(deployer, git_repo, runtime):
    git_repo.commit(
        {
            "app.py": None,
            "VERSION": None,
            "requirements.txt": "# nothing to install\n",
            "Procfile": "web: python -m http.server $PORT --bind 127.0.0.1\n",
            "index.html": "<p>served by http.server on $PORT</p>\n",
        }
    )
    first, second = (deployer.create(git_repo, health_check_path="/") for _ in range(2))
    deployed = [deployer.deploy(app) for app in (first, second)]
    for deployment in deployed:
        assert deployment.state == "live", deployment.failure_reason
        assert "Creating virtualenv" in deployer.logs(deployment)
    assert "on $PORT" in runtime.get(deployer.hostname(second)).text

    again = deployer.deploy(first)
    assert again.state == "live", again.failure_reason
    assert "Dependencies unchanged: reusing virtualenv" in deployer.logs(again)

    root = Path(runtime.root).resolve()
    venvs = [venv_of(deployer, d) for d in (*deployed, again)]
    assert venvs[0] == venvs[2] != venvs[1]
    for app, venv in zip((first, second), venvs, strict=False):
        app_dir = root / "apps" / app.pk.hex
        assert venv.parent == app_dir / "venvs" and (venv / "bin" / "python").exists()
        assert (app_dir / "cache" / "pip").is_dir()
        if os.geteuid() == 0:  # the builds' user owns what they write; Quayside its markers
            assert venv.stat().st_uid != 0 and (app_dir / "cache" / "pip").stat().st_uid != 0
            assert venv.parent.stat().st_uid == 0
            assert (venv.parent / f"{venv.name}.ready").stat().st_uid == 0
    assert not (root / "venvs").exists() and not (root / "cache").exists()
