"""scripts/check_private_names.py (`make lint`): no module imports another app's `_private` names
(ARCHITECTURE.md §3a). Each test writes a tiny tree of apps and runs the script on it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPT = ROOT / "scripts" / "check_private_names.py"

DEPLOY = {
    "apps/__init__.py": "",
    "apps/deploy/__init__.py": "",
    "apps/deploy/services.py": "def _helper(): ...\ndef app_create(): ...\n",
    "apps/deploy/models.py": "class App:\n    _meta = None\n",
    "apps/monitoring/__init__.py": "",
}


def check(tmp_path: Path, files: dict[str, str]) -> subprocess.CompletedProcess:
    for name, text in {**DEPLOY, **files}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path)], capture_output=True, text=True, check=False
    )


def test_the_project_itself_passes():
    result = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_public_names_of_another_app_pass(tmp_path):
    result = check(
        tmp_path,
        {
            "apps/monitoring/a.py": """
                from apps.deploy import services
                from apps.deploy.models import App
                from apps.deploy.services import app_create
                services.app_create()
                App._meta  # a private attribute of a class, not a module's name
                services.__name__
            """
        },
    )
    assert result.returncode == 0, result.stdout


def test_an_apps_own_private_names_pass(tmp_path):
    result = check(
        tmp_path,
        {
            "apps/deploy/pipeline.py": """
                from . import services
                from .services import _helper
                from apps.deploy.services import _helper as again
                services._helper()
            """
        },
    )
    assert result.returncode == 0, result.stdout


def test_importing_another_apps_private_name_fails(tmp_path):
    result = check(tmp_path, {"apps/monitoring/a.py": "from apps.deploy.services import _helper\n"})
    assert result.returncode == 1
    assert "apps/monitoring/a.py:1: imports apps.deploy.services._helper" in result.stdout


def test_the_relative_form_is_seen_too(tmp_path):
    result = check(tmp_path, {"apps/monitoring/a.py": "from ..deploy.services import _helper\n"})
    assert "apps/monitoring/a.py:1: imports apps.deploy.services._helper" in result.stdout


def test_a_private_attribute_of_another_apps_module_fails(tmp_path):
    result = check(
        tmp_path,
        {
            "apps/monitoring/a.py": """
                import apps.deploy.services
                import apps.deploy.services as deploy_services
                from apps.deploy import services

                services._helper()
                deploy_services._helper()
                apps.deploy.services._helper()
            """
        },
    )
    assert result.returncode == 1
    for line in (6, 7, 8):
        assert f"apps/monitoring/a.py:{line}: uses apps.deploy.services._helper" in result.stdout


def test_config_may_not_either(tmp_path):
    result = check(tmp_path, {"config/urls.py": "from apps.deploy.services import _helper\n"})
    assert "config/urls.py:1: imports apps.deploy.services._helper" in result.stdout
