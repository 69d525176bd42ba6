"""The builder interface: what one language's builder is, and what it is handed.

A builder (one module per language: python.py, node.py, static.py; the registry in
`__init__.py` picks one) says whether a checkout is its own (`detect`; `priority` settles trees
that more than one would take) and makes an `Artefact` of it (`build`), which also says what the
app's processes need at run time: directories for PATH, default env vars and host paths to be
shown read-only (runtime/base.py).

What a builder may do, so the provider decides as whom and inside what builds run:
- every command goes through `ctx.run` (never subprocess or run_streamed): today that is
  run_streamed as DEPLOY_RUN_AS_USER; a sandbox per app (its own uid and network) later;
- a directory a build writes in (a cache, a virtualenv, the checkout itself) is made with
  `ctx.own`, which hands it to the app's build user; builders never chown or chmod for a user;
- everything a build writes is the app's own: under `ctx.app_dir` (`cache/`, `venvs/`) or the
  checkout. `ctx.app_dir` itself and what the builder writes there as Quayside (ready markers,
  locks) cannot be written by builds, so an app cannot forge them or plant symlinks for them;
- files of the checkout are read with `checkout_file` (a symlink out of it refuses the build),
  and before any command of the app runs: after that the checkout belongs to the app's user;
- shared tools (Quayside's pip, Node.js) live in `ctx.tools_dir`, written by Quayside only and
  read-only to builds and processes.
"""

from __future__ import annotations

import abc
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

from ..base import Artefact, BuildRefused, LogSink, Tick

PROCESS_TYPE = re.compile(r"^[a-z][a-z0-9_-]{0,29}$")
PLATFORM_PATH = "/usr/local/bin:/usr/bin:/bin"
# What a sandbox shows of the system anyway: never listed as a path an artefact needs.
SYSTEM_DIRS = ("/usr", "/etc", "/bin", "/lib", "/lib32", "/lib64", "/libx32")


class CommandRunner(Protocol):
    """Runs one build command for the app; its exit status. Output goes to the build log line by
    line; a command outliving `timeout_s` is killed (its whole process group) and raises
    RuntimeProblem. `read_only` and `writable` are the host paths the command needs beyond the
    system (a sandbox shows exactly those)."""

    def __call__(
        self,
        argv: Sequence[str],
        *,
        cwd: str,
        env: Mapping[str, str],
        what: str,
        timeout_s: float,
        read_only: Sequence[str] = (),
        writable: Sequence[str] = (),
    ) -> int: ...


class DirOwner(Protocol):
    """Makes `path` (missing parents too) and hands it to the app's build user; with `tree`, an
    existing tree (the checkout) is handed over whole. Returns `path`."""

    def __call__(self, path: Path, *, tree: bool = False) -> Path: ...


@dataclass(frozen=True)
class BuildContext:
    app_key: str
    source_dir: str  # the checkout (fetched by Quayside; the build's own directory)
    app_dir: Path  # the app's own directory of the provider (Quayside writes here, builds not)
    tools_dir: Path  # shared tools, written by Quayside, read-only to builds and processes
    run: CommandRunner
    own: DirOwner
    log: LogSink
    tick: Tick
    timeout_s: float  # DEPLOY_BUILD_TIMEOUT_S: for installing and building
    python: str  # the interpreter app virtualenvs are made with (python.py)

    def cache_dir(self, name: str) -> Path:
        """`app_dir/cache/<name>`: kept between builds of this app only, written by its builds."""
        return self.own(self.app_dir / "cache" / name)


class Builder(abc.ABC):
    kind: ClassVar[str]  # Artefact.kind, Build.kind
    priority: ClassVar[int]  # the highest of the builders that detect a tree builds it
    describes: ClassVar[str]  # for the refusal of unknown trees: "a Node.js app (package.json)"

    @abc.abstractmethod
    def detect(self, source_dir: str) -> bool:
        """Whether the checkout is this builder's (reads only; may raise BuildRefused)."""

    def hint(self, source_dir: str) -> str | None:
        """When no builder took the tree: why it is not quite this builder's, if it looks so."""
        return None

    @abc.abstractmethod
    def build(self, ctx: BuildContext) -> Artefact:
        """Build the checkout; raises BuildRefused (the tree) or RuntimeProblem (a command)."""

    @abc.abstractmethod
    def dockerfile(self, source_dir: str) -> str:
        """A Dockerfile that builds the checkout into an image as `build` would build it here
        (builders/container.py says what every one is like); reads only, may raise
        BuildRefused. For providers that build images in a cluster."""


def checkout_file(source_dir: str, name: str) -> Path | None:
    """`name` in the checkout, when it is a file there. A symlink is followed only inside the
    checkout: one that leads out of it (`Procfile -> /etc/passwd`) refuses the build, or the
    worker would read a file of the host and show its lines (process types, the build log) to
    the tenant. `name` may be a relative path (package.json's `main`); `..` out is refused."""
    root = Path(source_dir)
    path = root / name
    plain = not any(part.is_symlink() for part in _parts(root, path))
    if plain and os.path.normpath(path).startswith(os.path.normpath(root) + os.sep):
        return path if path.is_file() else None
    try:
        target = path.resolve(strict=False)
        inside = target.is_relative_to(root.resolve(strict=True))
    except (OSError, RuntimeError):  # a symlink loop
        inside = False
    if not inside:
        raise BuildRefused(
            f"{name} is a symlink that leads out of the repository; Quayside only reads files "
            "inside it."
            if not plain
            else f"{name} is outside the repository; Quayside only reads files inside it."
        )
    return target if target.is_file() else None


def _parts(root: Path, path: Path) -> list[Path]:
    """`path` and its parents below `root`."""
    relative = Path(os.path.relpath(path, root))
    found, current = [], root
    for part in relative.parts:
        current = current / part
        found.append(current)
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


def procfile(source_dir: str) -> tuple[dict[str, str], str]:
    """The Procfile's process types (without `release`) and its release command."""
    path = checkout_file(source_dir, "Procfile")
    entries = parse_procfile(path.read_text()) if path is not None else {}
    release = entries.pop("release", "")
    return entries, release


def present(source_dir: str, *names: str) -> bool:
    return any(checkout_file(source_dir, name) is not None for name in names)


def outside_system(paths: Sequence[str | Path]) -> tuple[str, ...]:
    """The paths a sandbox would not show anyway (not under /usr, /etc, /bin, /lib*), once."""
    kept: list[str] = []
    for path in paths:
        text = os.path.normpath(str(path))
        if any(text == d or text.startswith(d + "/") for d in SYSTEM_DIRS) or text in kept:
            continue
        kept.append(text)
    return tuple(kept)


def base_env(home: Path, *path_dirs: str | Path) -> dict[str, str]:
    """The environment every build command starts from (nothing of Quayside's own)."""
    return {
        "PATH": ":".join([*(str(p) for p in path_dirs), PLATFORM_PATH]),
        "HOME": str(home),
        "LANG": "C.UTF-8",
    }
