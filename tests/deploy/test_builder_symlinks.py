"""The builder reads the Procfile, requirements.txt and pyproject.toml of the checkout, and only
of the checkout: a symlink that leads out of it refuses the build, so a repository cannot make
the worker read a file of the host (its lines would become process types and build log lines)."""

import os
import re

import pytest
from django_tenants.utils import tenant_context

from apps.deploy.models import Build
from apps.deploy.runtime.base import BuildRefused
from apps.deploy.runtime.builder import build, checkout_file, dependencies_of, detect

HOST_FILE = "secretname: s3cr3t-host-value\n"  # what a Procfile line looks like


@pytest.fixture
def host_file(tmp_path):
    path = tmp_path / "host" / "config"
    path.parent.mkdir()
    path.write_text(HOST_FILE)
    return path


@pytest.fixture
def checkout(tmp_path):
    root = tmp_path / "checkout"
    root.mkdir()
    (root / "app.py").write_text("app = None\n")
    return root


class NoPip:
    def build(self, source_dir, *, log, tick):  # pragma: no cover - must not be reached
        raise AssertionError("the build went on to install dependencies")


@pytest.mark.parametrize(
    "name, others",
    [
        ("Procfile", {"requirements.txt": "gunicorn\n"}),
        ("requirements.txt", {"Procfile": "web: gunicorn app:app\n"}),
        ("pyproject.toml", {"Procfile": "web: gunicorn app:app\n"}),
        ("index.html", {}),
    ],
)
def test_a_symlink_out_of_the_checkout_refuses_the_build(checkout, host_file, name, others):
    for other, content in others.items():
        (checkout / other).write_text(content)
    os.symlink(host_file, checkout / name)
    lines: list[str] = []
    with pytest.raises(
        BuildRefused, match=re.escape(f"{name} is a symlink that leads out")
    ) as refused:
        build(str(checkout), python_builder=NoPip(), log=lines.append, tick=lambda: None)
    assert "s3cr3t" not in refused.value.message + "".join(lines)


def test_relative_dangling_and_looping_symlinks_out_are_refused_too(checkout, host_file):
    os.symlink(os.path.relpath(host_file, checkout), checkout / "Procfile")
    with pytest.raises(BuildRefused, match="Procfile is a symlink"):
        detect(str(checkout))
    os.symlink("/nonexistent/requirements.txt", checkout / "requirements.txt")
    with pytest.raises(BuildRefused, match=r"requirements\.txt is a symlink"):
        dependencies_of(str(checkout))
    os.symlink("pyproject.toml", checkout / "pyproject.toml")
    with pytest.raises(BuildRefused, match=r"pyproject\.toml is a symlink"):
        checkout_file(str(checkout), "pyproject.toml")


def test_a_symlink_inside_the_checkout_is_followed(checkout):
    (checkout / "deploy").mkdir()
    (checkout / "deploy" / "Procfile").write_text("web: gunicorn app:app\n")
    (checkout / "deploy" / "requirements.txt").write_text("gunicorn\n")
    os.symlink("deploy/Procfile", checkout / "Procfile")
    os.symlink(checkout / "deploy" / "requirements.txt", checkout / "requirements.txt")
    assert detect(str(checkout)) == "python"
    assert dependencies_of(str(checkout)) == ("requirements", ["gunicorn\n"])


@pytest.mark.runtime
@pytest.mark.django_db
def test_a_repository_whose_procfile_links_to_a_host_file_fails_to_build(
    deployer, git_repo, host_file
):
    (git_repo.path / "Procfile").unlink()
    os.symlink(host_file, git_repo.path / "Procfile")
    git_repo.commit({}, "Procfile -> a file of the host")
    app = deployer.create(git_repo)
    deployment = deployer.deploy(app)
    assert deployment.state == "failed"
    assert "Procfile is a symlink that leads out of the repository" in deployment.failure_reason
    assert "s3cr3t" not in deployer.logs(deployment)
    assert "secretname" not in deployer.logs(deployment)
    with tenant_context(deployer.tenant):
        assert not Build.objects.filter(app=app).exclude(process_types={}).exists()
