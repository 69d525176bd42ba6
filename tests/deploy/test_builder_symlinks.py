"""The builders read the Procfile, requirements.txt, pyproject.toml and package.json of the
checkout, and only of the checkout: a symlink that leads out of it refuses the build, so a
repository cannot make the worker read a file of the host (its lines would become process types
and build log lines)."""

import os
import re
import sys

import pytest
from django_tenants.utils import tenant_context

from apps.deploy.models import Build
from apps.deploy.runtime.base import BuildRefused
from apps.deploy.runtime.builders import BuildContext, build, checkout_file, detect
from apps.deploy.runtime.builders.python import dependencies_of

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


def context(checkout, lines: list[str]) -> BuildContext:
    """A build context whose commands must not be reached."""

    def no_command(argv, **kwargs):  # pragma: no cover - must not be reached
        raise AssertionError(f"the build went on to run {argv}")

    return BuildContext(
        app_key="0" * 32,
        source_dir=str(checkout),
        app_dir=checkout.parent / "app",
        tools_dir=checkout.parent / "tools",
        run=no_command,
        own=lambda path, tree=False: path,
        log=lines.append,
        tick=lambda: None,
        timeout_s=10,
        python=sys.executable,
    )


@pytest.mark.parametrize(
    "name, others",
    [
        ("Procfile", {"requirements.txt": "gunicorn\n"}),
        ("requirements.txt", {"Procfile": "web: gunicorn app:app\n"}),
        ("pyproject.toml", {"Procfile": "web: gunicorn app:app\n"}),
        ("index.html", {}),
        ("package.json", {}),
        ("Procfile", {"package.json": "{}"}),
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
        build(context(checkout, lines))
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
