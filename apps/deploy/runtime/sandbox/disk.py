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
from .host_tools import run as run_tool


def _tool(argv: list[str], what: str) -> None:
    run_tool(argv, what=what, timeout_s=120)  # mkfs, e2fsck and resize2fs take a while


def ensure(image: Path, mountpoint: Path, size_mb: int) -> str:
    """Make (or grow) the image and mount it at `mountpoint`; a note when growing had to wait.

    Growing: an unmounted filesystem is checked and grown before it is mounted; a mounted one
    is grown online where the kernel lets us (resize2fs on the loop device). Where it does not
    (seen in containers: "Permission denied to resize filesystem"), the app keeps its size
    until its disk is next mounted (the runtime's restart), and nothing fails."""
    image.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(image.parent, 0o700)
    size = size_mb * 1024 * 1024
    if not image.exists():
        with open(image, "wb") as handle:
            handle.truncate(size)
        os.chmod(image, 0o600)
        _tool(
            ["mkfs.ext4", "-q", "-F", "-m", "0", "-E", "lazy_itable_init=1,lazy_journal_init=1",
             str(image)],
            f"make the app's filesystem ({image.name})",
        )  # fmt: skip
    mountpoint.mkdir(parents=True, exist_ok=True)
    grow = image.stat().st_size < size
    if grow:
        with open(image, "r+b") as handle:
            handle.truncate(size)
    if not os.path.ismount(mountpoint):
        if grow or _fs_blocks(image) * 4096 < image.stat().st_size - 4 * 1024 * 1024:
            _tool(["e2fsck", "-f", "-y", str(image)], "check the app's filesystem")
            _tool(["resize2fs", str(image)], "grow the app's filesystem")
        _tool(
            ["mount", "-o", "loop,nosuid,nodev,noatime", str(image), str(mountpoint)],
            f"mount the app's filesystem at {mountpoint}",
        )
        return ""
    if grow:
        device = _loop_device(mountpoint)
        try:
            if device is None:
                raise RuntimeProblem("no loop device")
            _tool(["losetup", "--set-capacity", device], "grow the loop device")
            _tool(["resize2fs", device], "grow the app's filesystem")
        except RuntimeProblem as exc:
            return f"The app's disk grows to {size_mb} MB when it is next mounted ({exc.message})"
    return ""


def _fs_blocks(image: Path) -> int:
    """The filesystem's size in 4 KiB blocks, from its superblock (dumpe2fs -h)."""
    try:
        shown = subprocess.run(
            ["dumpe2fs", "-h", str(image)], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    counts = {}
    for line in shown.splitlines():
        key, _, value = line.partition(":")
        counts[key.strip()] = value.strip()
    try:
        return int(counts["Block count"]) * int(counts["Block size"]) // 4096
    except (KeyError, ValueError):
        return 0


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
