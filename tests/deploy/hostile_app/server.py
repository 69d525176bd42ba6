"""The hostile app's web process: a stdlib HTTP server on $QUAYSIDE_SOCKET (one process, so a
memory attack gets this very process OOM-killed)."""

import json
import os
import socketserver
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import attacks

HOLD = []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def address_string(self):
        return "caddy"

    def _send(self, status: int, body) -> None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/attacks":
            self._send(200, attacks.run_all(heavy=query.get("heavy") == "1"))
        elif url.path == "/connect":
            self._send(200, {"result": attacks._tcp(query["host"], int(query["port"]))})
        elif url.path == "/fetch":
            import urllib.request

            try:
                with urllib.request.urlopen(query["url"], timeout=3) as response:  # noqa: S310
                    self._send(200, {"result": f"REACHED: {response.read(100).decode()}"})
            except OSError as exc:
                self._send(200, {"result": f"blocked: {exc}"})
        elif url.path == "/oom":
            # Past the memory limit, touching every page: the kernel kills this process.
            for _ in range(int(query.get("mb", "1024")) // 16):
                HOLD.append(bytearray(b"\1") * (16 * 1024 * 1024))
            self._send(200, {"result": f"REACHED: holding {len(HOLD) * 16} MB"})
        elif url.path == "/cpuhog":
            seconds = query.get("seconds", "5")
            code = f"import time\nend=time.time()+{float(seconds)}\nwhile time.time()<end: pass"
            for _ in range(int(query.get("procs", "4"))):
                subprocess.Popen([sys.executable, "-c", code])
            self._send(200, {"started": seconds})
        else:
            self._send(200, f"hostile {os.getuid()} {time.time()}")


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


if __name__ == "__main__":
    path = os.environ["QUAYSIDE_SOCKET"]
    if os.path.exists(path):
        os.unlink(path)
    with Server(path, Handler) as server:
        server.serve_forever()
