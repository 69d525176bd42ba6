"""The Dockerfile an in-cluster build uses: the repository's own `Dockerfile` when it has one,
else one written by the builder the local provider would pick (builders/, Builder.dockerfile),
so a git app builds the same way on either provider.

`check` reads a Dockerfile the way our tests (and `dockerfile_for`, on what it writes) hold it
to: FROM first, a non-root USER last, no ADD (and so no ADD of a URL), CMD in exec form. The
repository's own Dockerfile is not held to it: it is the app's choice (Pod Security
`restricted` still refuses to run an image whose user is root)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..base import BuildRefused
from ..builders import select
from ..builders.base import checkout_file


@dataclass(frozen=True)
class BuildDockerfile:
    text: str  # "" when the repository's own is used (it is read from the build context)
    origin: str  # "repository" | the builder's kind ("python", "node", "static")

    @property
    def generated(self) -> bool:
        return self.origin != "repository"


def dockerfile_for(source_dir: str) -> BuildDockerfile:
    """How a checkout is built into an image (BuildRefused when no builder takes it)."""
    if checkout_file(source_dir, "Dockerfile") is not None:
        return BuildDockerfile(text="", origin="repository")
    builder = select(source_dir)
    text = builder.dockerfile(source_dir)
    problems = check(text)
    if problems:  # our own writing: a bug, not the tenant's fault
        raise BuildRefused(f"Quayside wrote a Dockerfile it would not use: {'; '.join(problems)}")
    return BuildDockerfile(text=text, origin=builder.kind)


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of each instruction, continuation lines joined, comments out."""
    found: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, args = line.partition(" ")
        found.append((keyword.upper(), args.strip()))
    return found


def check(text: str) -> list[str]:
    """What is wrong with a Dockerfile Quayside writes (empty: nothing)."""
    steps = instructions(text)
    problems: list[str] = []
    keywords = [keyword for keyword, _ in steps if keyword != "ARG"]
    if not keywords or keywords[0] != "FROM":
        problems.append("the first instruction is not FROM")
    users = [args for keyword, args in steps if keyword == "USER"]
    if not users:
        problems.append("no USER: it would run as root")
    else:
        user = users[-1].split(":")[0]
        if user in ("0", "root") or not user.isdigit():
            problems.append(f"USER {users[-1]} is not a numeric non-root user")
    for keyword, args in steps:
        if keyword == "ADD":
            problems.append(f"ADD {args[:40]} (only COPY of the build context)")
        if keyword in ("CMD", "ENTRYPOINT"):
            try:
                ok = isinstance(json.loads(args), list)
            except ValueError:
                ok = False
            if not ok:
                problems.append(f"{keyword} is not in exec form")
    return problems
