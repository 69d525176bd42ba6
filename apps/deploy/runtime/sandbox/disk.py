"""Each app's disk: an ext4 filesystem in a sparse image file (R/disks/<app>.img), loop-mounted
(nosuid, nodev) at the app's directory R/apps/<app>. cgroups do not limit disk use; a
filesystem of the plan's `disk_mb` does: builds, releases, caches and $HOME all live on it, so
an app that fills its disk fills only its own (ENOSPC), never the host's.

The image grows when the plan grows (resize2fs works on a mounted ext4); it never shrinks (an
app over a lowered limit keeps its files and cannot write more once full)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ..base import RuntimeProblem


def _run(argv: list[str], what: str) -> None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise RuntimeProblem(f"Could not {what}: {exc}.") from exc
    if done.returncode != 0:
        raise RuntimeProblem(f"Could not {what}: {(done.stderr or done.stdout).strip()}.")


def ensure(image: Path, mountpoint: Path, size_mb: int) -> None:
    """Make (or grow) the image and mount it at `mountpoint`, unless it is mounted already."""
    image.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(image.parent, 0o700)
    size = size_mb * 1024 * 1024
    if not image.exists():
        with open(image, "wb") as handle:
            handle.truncate(size)
        os.chmod(image, 0o600)
        _run(
            ["mkfs.ext4", "-q", "-F", "-m", "0", "-E", "lazy_itable_init=1,lazy_journal_init=1",
             str(image)],
            f"make the app's filesystem ({image.name})",
        )  # fmt: skip
    mountpoint.mkdir(parents=True, exist_ok=True)
    if not os.path.ismount(mountpoint):
        _run(
            ["mount", "-o", "loop,nosuid,nodev,noatime", str(image), str(mountpoint)],
            f"mount the app's filesystem at {mountpoint}",
        )
    if image.stat().st_size < size:
        with open(image, "r+b") as handle:
            handle.truncate(size)
        device = _loop_device(mountpoint)
        if device:
            _run(["losetup", "--set-capacity", device], "grow the loop device")
            _run(["resize2fs", device], "grow the app's filesystem")


def _loop_device(mountpoint: Path) -> str | None:
    target = str(mountpoint.resolve())
    with open("/proc/self/mounts") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) > 1 and parts[1] == target and parts[0].startswith("/dev/loop"):
                return parts[0]
    return None


def remove(image: Path, mountpoint: Path) -> None:
    """Unmount (the loop device goes with it) and delete the image."""
    if os.path.ismount(mountpoint):
        device = _loop_device(mountpoint)
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)
        if device:
            subprocess.run(["losetup", "-d", device], capture_output=True)
    image.unlink(missing_ok=True)
