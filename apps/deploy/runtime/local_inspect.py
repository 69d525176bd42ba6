"""Reading what runs, for the local provider: health probes over a web process's socket, the
tail of a log file, CPU and memory of a process tree from /proc."""

from __future__ import annotations

import contextlib
import os
from collections import deque
from pathlib import Path

import httpx


def probe(socket: Path, host: str, path: str) -> str:
    if not socket.exists():
        return "socket not bound yet"
    try:
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(socket)), timeout=2.0) as client:
            response = client.get(f"http://{host}{path}", headers={"Host": host})
    except (httpx.HTTPError, httpx.InvalidURL) as exc:  # InvalidURL is no HTTPError
        return f"{type(exc).__name__}"
    if 200 <= response.status_code < 400:
        return "ok"
    return f"HTTP {response.status_code}"


def tail(path: Path, lines: int) -> list[str]:
    with contextlib.suppress(OSError), open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - 64 * 1024))
        data = handle.read().decode("utf-8", "replace")
        return list(deque(data.splitlines(), maxlen=lines))
    return []


class ProcUsage:
    """CPU seconds and resident memory of a process and its descendants, from /proc."""

    def __init__(self) -> None:
        self.children: dict[int, list[int]] = {}
        self.stats: dict[int, tuple[float, int]] = {}
        try:
            ticks = os.sysconf("SC_CLK_TCK")
            page = os.sysconf("SC_PAGE_SIZE")
            entries = [e for e in os.listdir("/proc") if e.isdigit()]
        except (OSError, ValueError):
            return
        for entry in entries:
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid, ppid = int(entry), int(fields[1])
            cpu = (int(fields[11]) + int(fields[12])) / ticks
            rss = int(fields[21]) * page
            self.children.setdefault(ppid, []).append(pid)
            self.stats[pid] = (cpu, rss)

    def tree(self, pid: int) -> tuple[float | None, int | None]:
        if pid not in self.stats:
            return None, None
        cpu, rss, stack = 0.0, 0, [pid]
        while stack:
            current = stack.pop()
            c, r = self.stats.get(current, (0.0, 0))
            cpu += c
            rss += r
            stack.extend(self.children.get(current, []))
        return round(cpu, 2), rss
