"""The command line that runs one thing in an app's sandbox, as shell text.

    <cgroup lines: make the group, set limits, move this shell into it>
    exec nsenter --net=<app netns> -- setpriv --reuid U --regid U --clear-groups
         --inh-caps=-all --bounding-set=-all --no-new-privs --
         bwrap --unshare-user --uid U --gid U --disable-userns --unshare-pid --unshare-ipc
               --unshare-uts --unshare-cgroup-try --die-with-parent --clearenv --setenv …
               <the system read-only, the app's own directories, a private /tmp, /proc, /dev>
               -- <command>

Privileges are dropped (setpriv) before the user namespace is made (bwrap), so the app's
processes are the app's uid on the host, as /proc/PID/status shows from outside: a uid that is
only mapped inside a user namespace would still be root outside."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

# What every sandbox sees of the host, read-only. Nothing else of the host is mounted: not
# Quayside's checkout, .env, runtime directory, sockets or Caddy's keys, not other apps.
SYSTEM_DIRS = ("/usr", "/etc")
SYSTEM_LINKS = (("usr/bin", "/bin"), ("usr/lib", "/lib"), ("usr/lib64", "/lib64"),
                ("usr/sbin", "/sbin"))  # fmt: skip


@dataclass(frozen=True)
class Mount:
    source: str
    target: str = ""
    writable: bool = False

    @property
    def dest(self) -> str:
        return self.target or self.source


@dataclass(frozen=True)
class Invocation:
    """Everything that varies between sandboxed commands."""

    uid: int
    netns: str  # path of the app's network namespace
    mounts: tuple[Mount, ...]
    env: dict[str, str]
    cwd: str
    argv: tuple[str, ...]
    tmp_bytes: int = 64 * 1024 * 1024
    hostname: str = "app"
    files: tuple[tuple[str, str], ...] = ()  # (host file, sandbox path): read-only overlays


def bwrap_argv(inv: Invocation) -> list[str]:
    uid = str(inv.uid)
    argv = [
        "nsenter", f"--net={inv.netns}", "--",
        "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
        "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--",
        "bwrap", "--unshare-user", "--uid", uid, "--gid", uid, "--disable-userns",
        "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
        "--hostname", inv.hostname, "--die-with-parent", "--clearenv",
    ]  # fmt: skip
    for key, value in sorted(inv.env.items()):
        argv += ["--setenv", key, value]
    for path in SYSTEM_DIRS:
        argv += ["--ro-bind", path, path]
    for target, link in SYSTEM_LINKS:
        argv += ["--symlink", target, link]
    for source, dest in inv.files:
        argv += ["--ro-bind", source, dest]
    argv += ["--proc", "/proc", "--dev", "/dev", "--size", str(inv.tmp_bytes), "--tmpfs", "/tmp"]
    for mount in inv.mounts:
        argv += ["--bind" if mount.writable else "--ro-bind", mount.source, mount.dest]
    argv += ["--remount-ro", "/", "--chdir", inv.cwd, "--", *inv.argv]
    return argv


def shell_line(inv: Invocation) -> str:
    return " ".join(shlex.quote(part) for part in bwrap_argv(inv))
