"""The local provider's unsandboxed half (DEPLOY_SANDBOX=off, development machines without
root): each process as DEPLOY_RUN_AS_USER on the host's network, its launch script holding its
config. local_sandbox.py is the sandboxed counterpart."""

from __future__ import annotations

import os
import re
import shlex
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.conf import settings

from . import forward
from .base import ReleaseSpec, RuntimeProblem
from .process import chown
from .supervisor import ProgramConfig

if TYPE_CHECKING:
    from .local import LocalProvider

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def start(
    provider: LocalProvider,
    spec: ReleaseSpec,
    environment: Callable[[ReleaseSpec, str], dict[str, str]],
) -> list[str]:
    """Write and add the release's programs; their names."""
    provider.private_dir(provider.root / "home" / spec.app_key)
    bind_dir = provider.root / "bind" / spec.app_key
    provider.private_dir(bind_dir)
    run_dir = provider.private_dir(provider.app_dir(spec.app_key) / "run" / spec.deployment_key)
    log_dir = provider.root / "logs" / spec.app_key
    log_dir.mkdir(parents=True, exist_ok=True)
    programs: list[str] = []
    for process_type, command in sorted(spec.artefact.process_types.items()):
        count = spec.formation.get(process_type, 0)
        if count <= 0:
            continue
        name = provider.program(spec.app_key, spec.deployment_key, process_type)
        script = run_dir / f"{process_type}.sh"
        env = environment(spec, process_type)
        lines = ["#!/bin/sh", "# Written by Quayside for one deployment; holds its config."]
        for key in env:
            if not ENV_NAME.fullmatch(key):  # the script names it unquoted
                raise RuntimeProblem(f"The env var name {key!r} is not a shell name: unset it.")
        lines += [f"export {key}={shlex.quote(value)}" for key, value in sorted(env.items())]
        lines.append('export QUAYSIDE_PROCESS_NUM="$1"')
        lines.append('export PORT="$(($2 + $1))"')
        if process_type == "web":
            prefix = shlex.quote(str(bind_dir / f"{spec.deployment_key}-web-"))
            lines.append(f'export QUAYSIDE_SOCKET={prefix}"$1".sock')
            lines.append('rm -f "$QUAYSIDE_SOCKET"')
            lines += forward.launch_lines(command)  # $PORT apps (issue 13 part 5)
        lines.append(f"cd {shlex.quote(spec.artefact.source_dir)} || exit 1")
        lines.append(f"exec /bin/sh -c {shlex.quote(command)}")
        script.write_text("\n".join(lines) + "\n")
        os.chmod(script, 0o700)
        chown(script, provider.run_as)
        base_port = _free_port_base(count)
        provider.supervisor.write_program(
            ProgramConfig(
                name=name,
                # env -i: nothing of Quayside's own environment (DATABASE_URL …) reaches apps.
                command=(
                    f"/usr/bin/env -i /bin/sh {str(script).replace('%', '%%')} "
                    f"%(process_num)d {base_port}"
                ),
                directory=spec.artefact.source_dir,
                numprocs=count,
                user=provider.run_as.name if provider.run_as else "",
                stop_wait_s=settings.DEPLOY_STOP_WAIT_S,
                log_file=str(log_dir / f"{spec.deployment_key}-{process_type}-%(process_num)d.log"),
            )
        )
        programs.append(name)
    for name in programs:
        provider.supervisor.add(name)
    return programs


def _free_port_base(count: int) -> int:
    """A port for $PORT (apps that must have one): the first of `count` free-looking ports."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
