"""What the builders share to write a Dockerfile (Builder.dockerfile), for providers that build
images in a cluster instead of on this machine (runtime/images/dockerfile.py decides when).

Every Dockerfile written here: starts FROM the operator's pinned base image of its language
(settings DEPLOY_IMAGE_BASE_*), fetches nothing itself (no ADD, no URLs: dependencies come from
the language's own package index as the local build gets them), runs as a numeric non-root user
(Kubernetes' runAsNonRoot can only check a number), records the Procfile's process types and
release command as labels (`io.quayside.process-types`, JSON; `io.quayside.release-command`),
sets PORT (CONTAINER_PORT) and runs `web` as its CMD. Tenant-supplied strings (commands,
dependency names) only ever appear JSON-quoted, in exec-form instructions or label values, so
none can add an instruction of its own."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence

APP_UID = 10001  # the user processes run as in images Quayside writes (not in the base images)
CONTAINER_PORT = 8080
# A Procfile written for the local provider binds the unix socket it is given; in a container
# the web process listens on $PORT instead (gunicorn's --bind takes either).
_SOCKET_BIND = re.compile(r"unix:\$(?:QUAYSIDE_SOCKET\b|\{QUAYSIDE_SOCKET\})")


def container_command(command: str) -> str:
    """A Procfile command as it runs in a container: `unix:$QUAYSIDE_SOCKET` → `0.0.0.0:$PORT`."""
    return _SOCKET_BIND.sub("0.0.0.0:$PORT", command)


def quoted(value: str) -> str:
    """A string as a Dockerfile JSON/label value (one line, escapes included)."""
    return json.dumps(value)


def exec_form(argv: Sequence[str]) -> str:
    return json.dumps(list(argv))


def render(
    *,
    what: str,
    base: str,
    env: dict[str, str],
    steps: Iterable[str],
    process_types: dict[str, str],
    release_command: str = "",
    user: int = APP_UID,
    cmd: Sequence[str] | None = None,
) -> str:
    """The Dockerfile text. `steps` are complete instructions (between WORKDIR and USER);
    `cmd` defaults to the `web` process through /bin/sh (what Procfile commands expect)."""
    types = {name: container_command(command) for name, command in process_types.items()}
    if cmd is None and "web" in types:
        cmd = ["/bin/sh", "-c", f"exec {types['web']}"]
    lines = [
        f"# Written by Quayside for {what} (the repository has no Dockerfile of its own).",
        f"FROM {base}",
        "ENV " + " ".join(f"{key}={quoted(value)}" for key, value in {**env}.items()),
        *steps,
        f"USER {user}:{user}",
        f"EXPOSE {CONTAINER_PORT}",
        f"LABEL io.quayside.process-types={quoted(json.dumps(types, sort_keys=True))}"
        + (
            f" io.quayside.release-command={quoted(container_command(release_command))}"
            if release_command
            else ""
        ),
    ]
    if cmd:
        lines.append(f"CMD {exec_form(cmd)}")
    return "\n".join(lines) + "\n"


def base_env(**extra: str) -> dict[str, str]:
    # HOME inside the image: somewhere the non-root user may write.
    return {"PORT": str(CONTAINER_PORT), "HOME": "/tmp", "LANG": "C.UTF-8", **extra}  # noqa: S108
