"""Static sites: an `index.html` at the top of the repository (and no Procfile), served by Caddy
itself as the files are. Nothing is run. Symlinks are refused: Caddy must never serve files from
outside the site."""

from __future__ import annotations

import os

from django.conf import settings

from ..base import Artefact, BuildRefused
from . import container
from .base import BuildContext, Builder, present

# The default base image (nginx-unprivileged) runs as this user, listens on 8080 and serves
# this directory.
STATIC_UID = 101
STATIC_ROOT = "/usr/share/nginx/html"


class StaticBuilder(Builder):
    kind = "static"
    priority = 10  # last: an index.html is also in many apps' repositories
    describes = "a static site (an index.html at the top of the repository)"

    def detect(self, source_dir: str) -> bool:
        return present(source_dir, "index.html") and not present(source_dir, "Procfile")

    def build(self, ctx: BuildContext) -> Artefact:
        refuse_symlinks(ctx.source_dir)
        ctx.log("Static site: index.html found; Caddy serves the files as they are.")
        return Artefact(kind=self.kind, source_dir=ctx.source_dir)

    def dockerfile(self, source_dir: str) -> str:
        refuse_symlinks(source_dir)
        return container.render(
            what="a static site",
            base=settings.DEPLOY_IMAGE_BASE_STATIC,
            env=container.base_env(),
            steps=[
                f"COPY --chown={STATIC_UID}:{STATIC_UID} . {STATIC_ROOT}",
                # Never serve the repository's history (a git context brings .git along).
                "RUN " + container.exec_form(["rm", "-rf", f"{STATIC_ROOT}/.git"]),
            ],
            process_types={},
            user=STATIC_UID,
        )


def refuse_symlinks(source_dir: str) -> None:
    for root, dirs, files in os.walk(source_dir):
        for name in dirs + files:
            path = os.path.join(root, name)
            if os.path.islink(path):
                relative = os.path.relpath(path, source_dir)
                raise BuildRefused(f"Static sites may not contain symlinks ({relative}).")
