"""Python apps: `requirements.txt` or `pyproject.toml`, and a `Procfile` (or a `wsgi.py`, which
gets the default web command).

Dependencies go into a virtualenv of the app's own, `<app dir>/venvs/<key>`, keyed by a hash of
the interpreter and the requirement lines: a redeploy whose dependencies did not change reuses
it and installs nothing. pip's cache is the app's own too (`<app dir>/cache/pip`): nothing is
shared between apps, so one app's build cannot leave a poisoned wheel or virtualenv for
another. The code itself runs from the build's own directory.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

from apps.core import local_dirs

from ..base import Artefact, BuildRefused, RuntimeProblem
from ..process import RunAs
from . import container
from .base import BuildContext, Builder, base_env, checkout_file, outside_system, present, procfile

CONTAINER_WEB = (
    "gunicorn --bind 0.0.0.0:$PORT --workers ${WEB_CONCURRENCY:-2} "
    "--graceful-timeout 10 --access-logfile - wsgi:application"
)
DEFAULT_WEB = (
    "gunicorn --bind unix:$QUAYSIDE_SOCKET --workers ${WEB_CONCURRENCY:-2} "
    "--graceful-timeout 10 --access-logfile - wsgi:application"
)
PIP_PASSED_ON = ("index-url", "extra-index-url", "find-links", "cert", "trusted-host")


class PythonBuilder(Builder):
    kind = "python"
    # Above Node: a Python app with a package.json for its front-end tools (a Django project)
    # is more common than a Node app with a requirements.txt at its top.
    priority = 30
    describes = "a Python app (requirements.txt or pyproject.toml, plus a Procfile or a wsgi.py)"

    def detect(self, source_dir: str) -> bool:
        return present(source_dir, "requirements.txt", "pyproject.toml") and present(
            source_dir, "Procfile", "wsgi.py"
        )

    def hint(self, source_dir: str) -> str | None:
        if present(source_dir, "requirements.txt", "pyproject.toml"):
            return (
                "This looks like a Python app, but it has no Procfile (e.g. "
                "`web: gunicorn --bind unix:$QUAYSIDE_SOCKET app:app`) and no wsgi.py."
            )
        return None

    def build(self, ctx: BuildContext) -> Artefact:
        entries, release_command = procfile(ctx.source_dir)
        if "web" not in entries and checkout_file(ctx.source_dir, "wsgi.py") is not None:
            entries["web"] = DEFAULT_WEB
            ctx.log(f"No web process in a Procfile: using `{DEFAULT_WEB}`.")
        if not entries:
            raise BuildRefused("The Procfile names no process type to run.")
        ctx.log("Python app: process types " + ", ".join(sorted(entries)) + ".")
        venv = make_virtualenv(ctx)
        return Artefact(
            kind=self.kind,
            source_dir=ctx.source_dir,
            venv_dir=str(venv),
            process_types=entries,
            release_command=release_command,
            path_dirs=(str(venv / "bin"),),
            read_only_paths=outside_system([python_prefix(ctx.python)]),
        )

    def dockerfile(self, source_dir: str) -> str:
        entries, release_command = procfile(source_dir)
        if "web" not in entries and checkout_file(source_dir, "wsgi.py") is not None:
            entries["web"] = CONTAINER_WEB
        if not entries:
            raise BuildRefused("The Procfile names no process type to run.")
        flavour, deps = dependencies_of(source_dir)
        if flavour == "requirements":
            install = [
                "COPY requirements.txt /app/requirements.txt",
                "RUN " + container.exec_form(["pip", "install", "-r", "/app/requirements.txt"]),
            ]
        else:  # pyproject's [project] dependencies, each one argument (never a shell word)
            install = ["RUN " + container.exec_form(["pip", "install", *deps])] if deps else []
        return container.render(
            what="a Python app",
            base=settings.DEPLOY_IMAGE_BASE_PYTHON,
            env=container.base_env(
                PYTHONUNBUFFERED="1",
                PYTHONDONTWRITEBYTECODE="1",
                PIP_DISABLE_PIP_VERSION_CHECK="1",
                PIP_NO_CACHE_DIR="1",
                PIP_ROOT_USER_ACTION="ignore",
            ),
            steps=[
                "WORKDIR /app",
                *install,
                f"COPY --chown={container.APP_UID}:{container.APP_UID} . /app",
            ],
            process_types=entries,
            release_command=release_command,
        )


def dependencies_of(source_dir: str) -> tuple[str, list[str]]:
    """('requirements', file text) or ('pyproject', [requirement, …])."""
    requirements = checkout_file(source_dir, "requirements.txt")
    if requirements is not None:
        text = requirements.read_text()
        for line in text.splitlines():
            stripped = line.strip()
            if stripped.startswith(("-r", "-c", "--requirement", "--constraint", "-e", ".")):
                raise BuildRefused(
                    f"requirements.txt line `{stripped}`: only plain requirements are supported "
                    "(no includes, editable installs or local paths)."
                )
        return "requirements", [text]
    pyproject = checkout_file(source_dir, "pyproject.toml")
    if pyproject is None:
        raise BuildRefused("There is no requirements.txt or pyproject.toml.")
    try:
        data = tomllib.loads(pyproject.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise BuildRefused(f"pyproject.toml is not valid TOML: {exc}") from exc
    deps = data.get("project", {}).get("dependencies", [])
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise BuildRefused("pyproject.toml's [project] dependencies must be a list of strings.")
    return "pyproject", deps


def venv_key(source_dir: str, python: str) -> tuple[str, list[str]]:
    """The virtualenv's key (interpreter + requirement lines, so the same dependencies share one
    whichever file names them) and pyproject's requirements if it is one."""
    flavour, deps = dependencies_of(source_dir)
    lines = deps if flavour == "pyproject" else deps[0].splitlines()
    requirements = sorted(
        {line.split(" #")[0].strip() for line in lines if not line.strip().startswith("#")} - {""}
    )
    digest = hashlib.sha256(os.path.realpath(python).encode())
    for item in requirements:
        digest.update(b"\0" + item.encode())
    return digest.hexdigest()[:24], deps if flavour == "pyproject" else []


def make_virtualenv(ctx: BuildContext) -> Path:
    """The app's virtualenv for this checkout's dependencies (made if missing)."""
    key, pyproject_deps = venv_key(ctx.source_dir, ctx.python)
    venvs = ctx.app_dir / "venvs"  # Quayside's: the ready markers and locks live here
    venv = venvs / key
    ready = venvs / f"{key}.ready"
    with _lock(venvs, key):
        if ready.exists() and venv.is_dir():
            ctx.log(f"Dependencies unchanged: reusing virtualenv {key}.")
            return venv
        ready.unlink(missing_ok=True)
        if venv.exists():
            shutil.rmtree(venv)
        pip_tools = _pip_copy(ctx.tools_dir)
        cache, home = ctx.cache_dir("pip"), ctx.cache_dir("home")
        ctx.own(venv)
        env = {
            **base_env(home),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_NO_INPUT": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            **operator_pip_env(),
        }
        read_only = (*outside_system([python_prefix(ctx.python)]), str(pip_tools))
        writable = (str(venv), str(cache), str(home))
        ctx.log(f"Creating virtualenv {key} ({ctx.python}).")
        status = ctx.run(
            [ctx.python, "-m", "venv", "--without-pip", str(venv)],
            cwd=str(venv), env=env, what="virtualenv creation", timeout_s=120,
            read_only=read_only, writable=writable,
        )  # fmt: skip
        if status != 0:
            raise RuntimeProblem(f"Creating the virtualenv failed (exit {status}).")
        pip = [
            str(venv / "bin" / "python"), "-m", "pip", "install", "--progress-bar", "off",
            "--cache-dir", str(cache), "--no-warn-script-location",
        ]  # fmt: skip
        if pyproject_deps:
            args = [*pip, *pyproject_deps]
        else:  # the checkout stays Quayside's during a Python build: pip reads it as it is
            args = [*pip, "-r", str(checkout_file(ctx.source_dir, "requirements.txt"))]
        ctx.log("Installing dependencies.")
        status = ctx.run(
            args, cwd=ctx.source_dir, env={**env, "PYTHONPATH": str(ctx.tools_dir)},
            what="dependency installation", timeout_s=ctx.timeout_s,
            read_only=(*read_only, ctx.source_dir), writable=writable,
        )  # fmt: skip
        if status != 0:
            shutil.rmtree(venv, ignore_errors=True)
            raise RuntimeProblem(f"Installing the dependencies failed (pip exit {status}).")
        ready.write_text("ready\n")
        return venv


def _pip_copy(tools_dir: Path) -> Path:
    """A copy of Quayside's pip that the app user can run (Quayside's interpreter may live
    where it cannot read), used with the app's own interpreter; `tools_dir/pip`."""
    import pip

    target = tools_dir / "pip"
    if (target / "__init__.py").exists():
        return target
    tools_dir.mkdir(parents=True, exist_ok=True)
    temporary = tools_dir / f".pip-{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    shutil.copytree(
        Path(pip.__file__).parent, temporary, ignore=shutil.ignore_patterns("__pycache__")
    )
    try:
        os.replace(temporary, target)
    except OSError:  # another build put it there first
        shutil.rmtree(temporary, ignore_errors=True)
    return target


@contextmanager
def _lock(directory: Path, key: str):
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / f".{key}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@functools.cache
def operator_pip_env() -> dict[str, str]:
    """The package index settings of Quayside's own pip (its config files and PIP_* variables)
    as PIP_* variables, for builds: they run as another user with a HOME of their own, so they
    would not see an operator's mirror or wheelhouse (an offline machine, a company index)."""
    try:
        listed = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"],
            capture_output=True, text=True, timeout=60, check=False,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        listed = ""
    found: dict[str, str] = {}
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        name = key.rsplit(".", 1)[-1]
        if name not in PIP_PASSED_ON:
            continue
        variable = "PIP_" + name.upper().replace("-", "_")
        if key.startswith(":env:"):
            found[variable] = value.strip("'\"")  # the environment wins over config files
        else:
            found.setdefault(variable, value.strip("'\""))
    return found


def python_prefix(python: str) -> str:
    """The installation an interpreter runs from (`/usr` for `/usr/bin/python3`): what its
    virtualenvs need at run time besides themselves."""
    real = Path(os.path.realpath(python))
    return str(real.parent.parent if real.parent.name == "bin" else real.parent)


def default_python(run_as: RunAs | None) -> str:
    """An interpreter the app user can run: ours if every directory up to it is world-readable
    (or nobody else runs it), else the system's."""
    candidates = [os.path.realpath(sys.executable), "/usr/bin/python3", "/usr/local/bin/python3"]
    for candidate in candidates:
        if os.path.exists(candidate) and (run_as is None or world_reachable(candidate)):
            return candidate
    raise RuntimeProblem("No Python interpreter the app user can run: set DEPLOY_APP_PYTHON.")


def world_reachable(path: str) -> bool:
    return Path(path).exists() and local_dirs.world_traversable(path)
