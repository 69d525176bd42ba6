"""Running the host's own tools (ip, nft, mkfs.ext4, mount, resize2fs …) for the sandbox: one
place that turns a failure into a RuntimeProblem naming what could not be done."""

from __future__ import annotations

import subprocess

from ..base import RuntimeProblem


def run(argv: list[str], *, what: str, stdin: str | None = None, timeout_s: float = 30) -> None:
    try:
        done = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise RuntimeProblem(f"Could not {what}: {exc}.") from exc
    if done.returncode != 0:
        raise RuntimeProblem(f"Could not {what}: {(done.stderr or done.stdout).strip()}.")
