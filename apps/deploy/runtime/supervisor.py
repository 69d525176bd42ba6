"""supervisord over its XML-RPC unix socket (never the supervisorctl CLI).

Adding programs: write conf.d/<name>.conf (atomically), then reloadConfig() + addProcessGroup().
Removing: stopProcessGroup() + removeProcessGroup(), then delete the file. Each call makes its
own connection: ServerProxy objects are not thread-safe."""

from __future__ import annotations

import os
import time
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path

from supervisor.xmlrpc import SupervisorTransport

from .base import RuntimeProblem

# supervisord's fault codes (supervisor.xmlrpc.Faults) we react to.
BAD_NAME = 10
ALREADY_ADDED = 90
STILL_RUNNING = 91
NOT_RUNNING = 70
SHUTDOWN_STATE = 6


@dataclass
class ProgramConfig:
    name: str
    command: str
    directory: str
    numprocs: int = 1
    user: str = ""
    environment: dict[str, str] | None = None
    stop_wait_s: int = 15
    log_file: str = ""
    autostart: bool = True

    def render(self) -> str:
        lines = [
            f"[program:{self.name}]",
            f"command={self.command}",  # the caller escapes: it may use %(process_num)d
            f"directory={_escape(self.directory)}",
            f"numprocs={self.numprocs}",
            "process_name=%(program_name)s-%(process_num)d",
            f"autostart={'true' if self.autostart else 'false'}",
            "autorestart=true",
            "startsecs=1",
            "startretries=3",
            "stopsignal=TERM",
            f"stopwaitsecs={self.stop_wait_s}",
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={_escape(self.log_file)}",
            "stdout_logfile_maxbytes=5MB",
            "stdout_logfile_backups=2",
        ]
        if self.user:
            lines.append(f"user={self.user}")
        if self.environment:
            pairs = ",".join(
                f'{key}="{_escape(value).replace(chr(34), "")}"'
                for key, value in self.environment.items()
            )
            lines.append(f"environment={pairs}")
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    """supervisord expands %(name)s in values: a literal % is written %%."""
    return value.replace("%", "%%")


class Supervisor:
    def __init__(self, socket_path: str, conf_dir: str) -> None:
        self.socket_path = socket_path
        self.conf_dir = Path(conf_dir)

    def _proxy(self):
        transport = SupervisorTransport(None, None, f"unix://{self.socket_path}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport).supervisor

    def _call(self, method: str, *args):
        try:
            return getattr(self._proxy(), method)(*args)
        except (OSError, xmlrpc.client.ProtocolError) as exc:
            raise RuntimeProblem(
                f"supervisord does not answer on {self.socket_path} ({exc}). "
                "Is the runtime running (`make run` starts it)?",
                permanent=False,
            ) from exc

    # --- liveness --------------------------------------------------------------------------
    def ping(self) -> str:
        return self._call("getState")["statename"]

    def pid(self) -> int:
        return self._call("getPID")

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if self.ping() == "RUNNING":
                    return
            except RuntimeProblem:
                if time.monotonic() >= deadline:
                    raise
            if time.monotonic() >= deadline:
                raise RuntimeProblem("supervisord is not running yet.", permanent=False)
            time.sleep(0.1)

    # --- programs --------------------------------------------------------------------------
    def write_program(self, program: ProgramConfig) -> None:
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        target = self.conf_dir / f"{program.name}.conf"
        temporary = self.conf_dir / f".{program.name}.conf.tmp"
        temporary.write_text(program.render())
        os.chmod(temporary, 0o600)
        os.replace(temporary, target)

    def has_program_file(self, name: str) -> bool:
        return (self.conf_dir / f"{name}.conf").exists()

    def program_files(self) -> list[str]:
        if not self.conf_dir.exists():
            return []
        return sorted(p.stem for p in self.conf_dir.glob("*.conf"))

    def add(self, name: str) -> None:
        """Load the group's file and start it (idempotent)."""
        self._call("reloadConfig")
        try:
            self._call("addProcessGroup", name)
        except xmlrpc.client.Fault as fault:
            if fault.faultCode != ALREADY_ADDED:
                raise RuntimeProblem(f"supervisord refused {name}: {fault.faultString}") from fault
            self.start(name)

    def start(self, name: str) -> None:
        try:
            self._call("startProcessGroup", name, False)
        except xmlrpc.client.Fault as fault:
            if fault.faultCode not in (60,):  # ALREADY_STARTED
                raise RuntimeProblem(
                    f"supervisord cannot start {name}: {fault.faultString}"
                ) from fault

    def remove(self, name: str) -> None:
        """Stop the group (TERM, then KILL after stopwaitsecs), forget it, delete its file."""
        try:
            self._call("stopProcessGroup", name, True)
        except xmlrpc.client.Fault as fault:
            if fault.faultCode not in (BAD_NAME, NOT_RUNNING):
                raise RuntimeProblem(
                    f"supervisord cannot stop {name}: {fault.faultString}"
                ) from fault
        try:
            self._call("removeProcessGroup", name)
        except xmlrpc.client.Fault as fault:
            if fault.faultCode == STILL_RUNNING:
                raise RuntimeProblem(f"{name} is still running.", permanent=False) from fault
            if fault.faultCode != BAD_NAME:
                raise RuntimeProblem(
                    f"supervisord cannot remove {name}: {fault.faultString}"
                ) from fault
        path = self.conf_dir / f"{name}.conf"
        path.unlink(missing_ok=True)

    def processes(self) -> list[dict]:
        return self._call("getAllProcessInfo")

    def groups(self) -> set[str]:
        return {info["group"] for info in self.processes()}
