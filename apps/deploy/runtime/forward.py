"""Routing to web processes that listen on $PORT (the Heroku convention most Node.js apps and
many others follow) rather than on the unix socket Caddy dials ($QUAYSIDE_SOCKET).

A web command that names $QUAYSIDE_SOCKET binds it itself. For any other, the launch script
starts socat before exec'ing the command:

    socat UNIX-LISTEN:$QUAYSIDE_SOCKET,fork,… TCP:127.0.0.1:$PORT,retry=…

so Caddy and the health gate reach the app through the same socket path as any other. It runs
next to the app: as its user, in its network namespace (127.0.0.1 is the app's own loopback
inside a sandbox), with the same environment.
- A connection that arrives before the app listens (or while it restarts) waits for it, up to
  CONNECT_RETRIES times CONNECT_INTERVAL_S, instead of failing at once.
- Lifetime: socat gets SIGTERM when the launch shell ends (`setpriv --pdeathsig`), so it never
  outlives the process it serves. It runs in a session of its own (`setsid`), so the SIGTERM
  supervisord sends the process group on stop reaches the app but not the forwarder: the app
  drains its open connections through socat's per-connection children, which end when the app
  closes its side (or dies). Stopping the forwarder first would cut requests in flight.
- Each connection is one socat child process: keep-alive clients (Caddy) use few.
"""

from __future__ import annotations

import shlex
import shutil

from .base import RuntimeProblem

SOCKET_VARIABLE = "QUAYSIDE_SOCKET"
PLATFORM_PATH = "/usr/local/bin:/usr/bin:/bin"
CONNECT_RETRIES = 30
CONNECT_INTERVAL_S = 0.1
BACKLOG = 256


def binds_socket_itself(command: str) -> bool:
    """Whether a web command binds $QUAYSIDE_SOCKET (it names it) rather than $PORT."""
    return SOCKET_VARIABLE in command


def launch_lines(command: str) -> list[str]:
    """Lines for a web process's launch script, after PORT and QUAYSIDE_SOCKET are exported and
    before the command is exec'd: the forwarder in the background, or nothing when the command
    binds the socket itself. Raises RuntimeProblem when a tool is missing."""
    if binds_socket_itself(command):
        return []
    tools = {name: _tool(name) for name in ("socat", "setpriv", "setsid")}
    listen = f"UNIX-LISTEN:${SOCKET_VARIABLE},fork,unlink-early,mode=600,backlog={BACKLOG}"
    connect = f"TCP:127.0.0.1:$PORT,nodelay,retry={CONNECT_RETRIES},interval={CONNECT_INTERVAL_S}"
    return [
        "# $PORT app: forward the web socket to it (apps/deploy/runtime/forward.py).",
        f"{shlex.quote(tools['setpriv'])} --pdeathsig TERM {shlex.quote(tools['setsid'])} "
        f'{shlex.quote(tools["socat"])} "{listen}" "{connect}" </dev/null &',
    ]


def _tool(name: str) -> str:
    found = shutil.which(name, path=PLATFORM_PATH)
    if not found:
        package = "socat" if name == "socat" else "util-linux"
        raise RuntimeProblem(
            f"{name} is not installed: web processes that listen on $PORT need it "
            f"(apt-get install {package}; `make run` installs it when run as root).",
            permanent=False,
        )
    return found
