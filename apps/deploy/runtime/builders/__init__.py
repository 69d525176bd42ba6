"""What the local provider can build: one builder per language, picked per checkout.

The builders (base.py says what one is and may do) are tried from the highest `priority` down;
the first whose `detect` takes the checkout builds it:
    python  30  requirements.txt or pyproject.toml, plus a Procfile or a wsgi.py
    node    20  package.json
    static  10  index.html and no Procfile
So a repository with both a package.json and a Python app's files is built as Python (a Django
project with front-end tooling, the common case). A tree no builder takes is refused with a
message naming what each would need (or why it is not quite one of them).

Adding a language is one module with a Builder subclass, listed in BUILDERS (and its kind in
apps.deploy.models.BuildKind).
"""

from __future__ import annotations

from ..base import Artefact, BuildRefused
from .base import BuildContext, Builder, CommandRunner, DirOwner, checkout_file, present
from .node import NodeBuilder
from .python import PythonBuilder, default_python
from .static import StaticBuilder

BUILDERS: tuple[Builder, ...] = tuple(
    sorted((PythonBuilder(), NodeBuilder(), StaticBuilder()), key=lambda b: -b.priority)
)


def select(source_dir: str) -> Builder:
    """The builder of a checkout; BuildRefused, saying what is missing, when there is none."""
    for builder in BUILDERS:
        if builder.detect(source_dir):
            return builder
    for builder in BUILDERS:
        hint = builder.hint(source_dir)
        if hint:
            raise BuildRefused(hint)
    kinds = [builder.describes for builder in BUILDERS]
    known = f"Quayside can build {', '.join(kinds[:-1])} or {kinds[-1]}"
    if present(source_dir, "Procfile"):
        raise BuildRefused(f"There is a Procfile but nothing that says how to build it: {known}.")
    raise BuildRefused(f"{known}; this repository is none of them.")


def detect(source_dir: str) -> str:
    """The kind of build a checkout gets ("python", "node", "static")."""
    return select(source_dir).kind


def build(ctx: BuildContext) -> Artefact:
    return select(ctx.source_dir).build(ctx)


__all__ = [
    "BUILDERS",
    "BuildContext",
    "Builder",
    "CommandRunner",
    "DirOwner",
    "build",
    "checkout_file",
    "default_python",
    "detect",
    "select",
]
