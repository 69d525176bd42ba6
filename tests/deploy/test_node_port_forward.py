"""The forwarder of web processes that listen on $PORT (runtime/forward.py), run as a launch
script runs it (its own process group, the group sent SIGTERM on stop, as supervisord does):
requests reach the app through the web socket, a request in flight when the process is stopped
still gets its answer, and the forwarder does not outlive the app."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import httpx
import pytest

from apps.deploy.runtime import forward
from apps.deploy.runtime.base import RuntimeProblem
from apps.deploy.runtime.forward import launch_lines

from .conftest import free_port, processes_under

needs_socat = pytest.mark.skipif(
    shutil.which("socat") is None, reason="socat is not installed (apt-get install socat)"
)

APP = textwrap.dedent(
    """
    import os, signal, threading, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/slow":
                open("slow-started", "w").close()
                time.sleep(1.0)
            body = f"{self.path} answered".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
    server.daemon_threads = False  # on stop, finish the requests in flight
    signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=server.shutdown).start())
    server.serve_forever()
    server.server_close()
    """
)


@needs_socat
def test_only_commands_that_do_not_bind_the_socket_get_a_forwarder():
    assert launch_lines("gunicorn --bind unix:$QUAYSIDE_SOCKET app:app") == []
    lines = launch_lines("npm start")
    assert "socat" in lines[-1] and "TCP:127.0.0.1:$PORT" in lines[-1]


def test_without_socat_a_port_app_cannot_start_and_the_reason_says_what_to_install(
    monkeypatch,
):
    monkeypatch.setattr(forward.shutil, "which", lambda name, path=None: None)
    assert launch_lines("gunicorn --bind unix:$QUAYSIDE_SOCKET app:app") == []
    with pytest.raises(RuntimeProblem, match=r"socat is not installed.*apt-get install socat"):
        launch_lines("npm start")


def get(socket: str, path: str) -> httpx.Response:
    with httpx.Client(transport=httpx.HTTPTransport(uds=socket), timeout=5) as client:
        return client.get(f"http://app{path}")


@pytest.fixture
def launched(tmp_path):
    """A launch script of a $PORT app, started in a process group of its own."""
    socket = str(tmp_path / "web-0.sock")
    (tmp_path / "app.py").write_text(APP)
    command = f"{shlex.quote(sys.executable)} app.py"
    script = tmp_path / "web.sh"
    script.write_text(
        "\n".join(
            [
                "#!/bin/sh",
                f"export PORT={free_port()}",
                f"export QUAYSIDE_SOCKET={shlex.quote(socket)}",
                'rm -f "$QUAYSIDE_SOCKET"',
                *launch_lines(command),
                f"cd {shlex.quote(str(tmp_path))} || exit 1",
                f"exec /bin/sh -c {shlex.quote(command)}",
            ]
        )
        + "\n"
    )
    process = subprocess.Popen(["/bin/sh", str(script)], start_new_session=True)
    try:
        yield process, socket
    finally:
        for pid in [process.pid, *processes_under(str(tmp_path))]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait()


@needs_socat
def test_a_port_app_answers_on_its_socket_and_drains_on_stop(launched):
    process, socket = launched
    deadline = time.monotonic() + 10
    while not os.path.exists(socket) and time.monotonic() < deadline:
        time.sleep(0.05)
    # The first request may arrive before the app listens: the forwarder waits for it.
    assert get(socket, "/").text == "/ answered"

    answers: list[str] = []
    slow = threading.Thread(target=lambda: answers.append(get(socket, "/slow").text))
    slow.start()
    started = Path(socket).parent / "slow-started"
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert started.exists()  # the app is answering it
    os.killpg(process.pid, signal.SIGTERM)  # what supervisord's stop does (stopasgroup)
    slow.join(timeout=10)

    assert answers == ["/slow answered"]  # in flight through the forwarder: not cut off
    process.wait(timeout=10)
    deadline = time.monotonic() + 5
    while processes_under(socket) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_under(socket) == []  # the forwarder went with the app
