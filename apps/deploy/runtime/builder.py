"""What the local provider can build, and how.

- A Python app: `requirements.txt` or `pyproject.toml`, and a `Procfile` (or a `wsgi.py`, which
  gets the default web command). Its dependencies go into a virtualenv of their own. Virtualenvs
  are keyed by a hash of the interpreter and the dependency list and shared by every build with
  the same key (a redeploy whose requirements did not change builds nothing), and pip's cache is
  shared by all builds. The code itself runs from the build's own directory.
- A static site: an `index.html` (no Procfile), served by Caddy itself. Symlinks are refused (Caddy
  must never serve files from outside the site).
- Anything else is refused with a message that says what is missing.

The files read here (Procfile, requirements.txt, pyproject.toml) are read only from inside the
checkout: a symlink out of it refuses the build (`checkout_file`).
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
from contextlib import contextmanager
from pathlib import Path

from apps.core import local_dirs

from .base import Artefact, BuildRefused, LogSink, RuntimeProblem, Tick
from .process import RunAs, chown, run_streamed

PROCESS_TYPE = re.compile(r"^[a-z][a-z0-9_-]{0,29}$")
DEFAULT_WEB = (
    "gunicorn --bind unix:$QUAYSIDE_SOCKET --workers ${WEB_CONCURRENCY:-2} "
    "--graceful-timeout 10 --access-logfile - wsgi:application"
)
READY_MARKER = ".quayside-ready"


PIP_PASSED_ON = ("index-url", "extra-index-url", "find-links", "cert", "trusted-host")


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


def parse_procfile(text: str) -> dict[str, str]:
    entries: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, command = line.partition(":")
        name, command = name.strip(), command.strip()
        if not sep or not PROCESS_TYPE.match(name) or not command:
            raise BuildRefused(
                f"Procfile line {number} is not `<type>: <command>` with a lower-case type."
            )
        if name in entries:
            raise BuildRefused(f"Procfile names '{name}' twice.")
        entries[name] = command
    return entries


def checkout_file(source_dir: str, name: str) -> Path | None:
    """`name` at the top of the checkout, when it is a file there. A symlink is followed only
    inside the checkout: one that leads out of it (`Procfile -> /etc/passwd`) refuses the
    build, or the worker would read a file of the host and show its lines (process types, the
    build log) to the tenant."""
    path = Path(source_dir) / name
    if not path.is_symlink():
        return path if path.is_file() else None
    try:
        target = path.resolve(strict=False)
        inside = target.is_relative_to(Path(source_dir).resolve(strict=True))
    except (OSError, RuntimeError):  # a symlink loop
        inside = False
    if not inside:
        raise BuildRefused(
            f"{name} is a symlink that leads out of the repository; Quayside only reads files "
            "inside it."
        )
    return target if target.is_file() else None


def detect(source_dir: str) -> str:
    def present(name: str) -> bool:
        return checkout_file(source_dir, name) is not None

    has_procfile = present("Procfile")
    has_python = present("requirements.txt") or present("pyproject.toml")
    if has_python and (has_procfile or present("wsgi.py")):
        return "python"
    if present("index.html") and not has_procfile:
        return "static"
    if has_python:
        raise BuildRefused(
            "This looks like a Python app, but it has no Procfile (e.g. "
            "`web: gunicorn --bind unix:$QUAYSIDE_SOCKET app:app`) and no wsgi.py."
        )
    if has_procfile:
        raise BuildRefused(
            "There is a Procfile but no requirements.txt or pyproject.toml: Quayside builds "
            "Python apps and static sites only."
        )
    raise BuildRefused(
        "Quayside can build a Python app (requirements.txt or pyproject.toml, plus a Procfile) "
        "or a static site (an index.html at the top of the repository); this repository is "
        "neither."
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


def refuse_symlinks(source_dir: str) -> None:
    for root, dirs, files in os.walk(source_dir):
        for name in dirs + files:
            path = os.path.join(root, name)
            if os.path.islink(path):
                relative = os.path.relpath(path, source_dir)
                raise BuildRefused(f"Static sites may not contain symlinks ({relative}).")


class PythonBuilder:
    def __init__(self, *, venvs_dir: Path, tools_dir: Path, cache_dir: Path, home_dir: Path,
                 python: str, run_as: RunAs | None, timeout_s: float) -> None:  # fmt: skip
        self.venvs_dir = venvs_dir
        self.tools_dir = tools_dir
        self.cache_dir = cache_dir
        self.home_dir = home_dir
        self.python = python
        self.run_as = run_as
        self.timeout_s = timeout_s

    def key(self, source_dir: str) -> tuple[str, list[str]]:
        """The virtualenv's key (interpreter + requirement lines, so the same dependencies
        share one whichever file names them) and pyproject's requirements if it is one."""
        flavour, deps = dependencies_of(source_dir)
        lines = deps if flavour == "pyproject" else deps[0].splitlines()
        requirements = sorted(
            {line.split(" #")[0].strip() for line in lines if not line.strip().startswith("#")}
            - {""}
        )
        digest = hashlib.sha256(os.path.realpath(self.python).encode())
        for item in requirements:
            digest.update(b"\0" + item.encode())
        return digest.hexdigest()[:24], deps if flavour == "pyproject" else []

    def build(self, source_dir: str, *, log: LogSink, tick: Tick) -> str:
        """The virtualenv directory for this source's dependencies (made if missing)."""
        key, pyproject_deps = self.key(source_dir)
        venv = self.venvs_dir / key
        with self._lock(key):
            if (venv / READY_MARKER).exists():
                log(f"Dependencies unchanged: reusing virtualenv {key}.")
                return str(venv)
            if venv.exists():
                shutil.rmtree(venv)
            self._tools()
            for path in (self.venvs_dir, self.cache_dir, self.home_dir):
                path.mkdir(parents=True, exist_ok=True)
                chown(path, self.run_as)
            env = {
                "PATH": "/usr/local/bin:/usr/bin:/bin",
                "HOME": str(self.home_dir),
                "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                "PIP_NO_INPUT": "1",
                "PYTHONDONTWRITEBYTECODE": "1",
                "LANG": "C.UTF-8",
            }
            env.update(operator_pip_env())
            log(f"Creating virtualenv {key} ({self.python}).")
            status = run_streamed(
                [self.python, "-m", "venv", "--without-pip", str(venv)],
                cwd=str(self.venvs_dir), env=env, log=log, tick=tick,
                timeout_s=120, run_as=self.run_as, what="virtualenv creation",
            )  # fmt: skip
            if status != 0:
                raise RuntimeProblem(f"Creating the virtualenv failed (exit {status}).")
            pip = [
                str(venv / "bin" / "python"), "-m", "pip", "install", "--progress-bar", "off",
                "--cache-dir", str(self.cache_dir), "--no-warn-script-location",
            ]  # fmt: skip
            if pyproject_deps:
                args = [*pip, *pyproject_deps]
            else:
                args = [*pip, "-r", str(checkout_file(source_dir, "requirements.txt"))]
            log("Installing dependencies.")
            status = run_streamed(
                args, cwd=source_dir, env={**env, "PYTHONPATH": str(self.tools_dir)},
                log=log, tick=tick, timeout_s=self.timeout_s, run_as=self.run_as,
                what="dependency installation",
            )  # fmt: skip
            if status != 0:
                shutil.rmtree(venv, ignore_errors=True)
                raise RuntimeProblem(f"Installing the dependencies failed (pip exit {status}).")
            (venv / READY_MARKER).write_text("ready\n")
            return str(venv)

    def _tools(self) -> None:
        """A copy of Quayside's pip that the app user can run (Quayside's interpreter may live
        where it cannot read), used with the app's own interpreter."""
        import pip

        target = self.tools_dir / "pip"
        if (target / "__init__.py").exists():
            return
        self.tools_dir.mkdir(parents=True, exist_ok=True)
        temporary = self.tools_dir / f".pip-{os.getpid()}"
        shutil.rmtree(temporary, ignore_errors=True)
        shutil.copytree(
            Path(pip.__file__).parent, temporary, ignore=shutil.ignore_patterns("__pycache__")
        )
        os.replace(temporary, target)

    @contextmanager
    def _lock(self, key: str):
        self.venvs_dir.mkdir(parents=True, exist_ok=True)
        with open(self.venvs_dir / f".{key}.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def build(source_dir: str, *, python_builder: PythonBuilder, log: LogSink, tick: Tick) -> Artefact:
    kind = detect(source_dir)
    if kind == "static":
        refuse_symlinks(source_dir)
        log("Static site: index.html found; Caddy serves the files as they are.")
        return Artefact(kind="static", source_dir=source_dir)
    procfile = checkout_file(source_dir, "Procfile")
    entries = parse_procfile(procfile.read_text()) if procfile is not None else {}
    release_command = entries.pop("release", "")
    if "web" not in entries and checkout_file(source_dir, "wsgi.py") is not None:
        entries["web"] = DEFAULT_WEB
        log(f"No web process in a Procfile: using `{DEFAULT_WEB}`.")
    if not entries:
        raise BuildRefused("The Procfile names no process type to run.")
    log("Python app: process types " + ", ".join(sorted(entries)) + ".")
    venv = python_builder.build(source_dir, log=log, tick=tick)
    return Artefact(
        kind="python",
        source_dir=source_dir,
        venv_dir=venv,
        process_types=entries,
        release_command=release_command,
    )


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
