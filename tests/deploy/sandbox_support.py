"""Helpers of the sandbox tests: the hostile app's repository, processes seen from the host,
and a TCP listener on the host."""

from __future__ import annotations

import io
import json
import os
import socket
import tarfile
import tempfile
import threading
from pathlib import Path

from .conftest import GitRepo

HOSTILE = Path(__file__).parent / "hostile_app"


def hostile_repo(repo: GitRepo, *, targets: dict | None = None, build_hook: bool = True) -> str:
    """Turn `repo` into the hostile app (depending on the hostile `buildhook` package unless
    `build_hook` is False, which keeps the build fast); the new sha."""
    files: dict[str, str | None] = {
        "app.py": None,
        "VERSION": None,
        "attacks.py": (HOSTILE / "attacks.py").read_text(),
        "server.py": (HOSTILE / "server.py").read_text(),
        "Procfile": (HOSTILE / "Procfile").read_text(),
        "requirements.txt": "buildhook==1.0\n" if build_hook else "\n",
        "TARGETS.json": json.dumps(targets or {}),
    }
    if not build_hook:
        files["Procfile"] = "web: python server.py\n"
    return repo.commit(files, "hostile")


def buildhook_wheelhouse(targets: dict) -> str:
    """A directory (readable by every uid) holding the hostile package as an sdist, whose
    setup.py runs the attacks when pip builds it: the test's stand-in for a malicious package
    on an index. Builds find it through the operator's PIP_FIND_LINKS."""
    directory = tempfile.mkdtemp(prefix="qs-wheels-", dir="/tmp")
    os.chmod(directory, 0o755)  # noqa: S103 - read by the apps' uids
    members = {
        "buildhook-1.0/setup.py": (HOSTILE / "buildhook" / "setup.py").read_bytes(),
        "buildhook-1.0/attacks.py": (HOSTILE / "attacks.py").read_bytes(),
        "buildhook-1.0/TARGETS.json": json.dumps(targets).encode(),
        "buildhook-1.0/PKG-INFO": b"Metadata-Version: 2.1\nName: buildhook\nVersion: 1.0\n",
    }
    path = Path(directory) / "buildhook-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    os.chmod(path, 0o644)
    return directory


def pids_with(text: str) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            out.append(int(entry))
    return out


def uids_of(pid: int) -> list[int]:
    """Real, effective, saved and filesystem uid of a process, as the host sees them."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return [int(x) for x in line.split()[1:]]
    return []


class Listener:
    """A TCP server on the host (all addresses) that answers 'host' to anyone who connects."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("0.0.0.0", 0))  # noqa: S104 - the point: reachable on every address
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.sendall(b"host")
            conn.close()

    def close(self) -> None:
        self.sock.close()
