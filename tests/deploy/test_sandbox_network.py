"""An app's network (issue 13): the internet works, private ranges, the host's own addresses
and Quayside's services do not, and DEPLOY_SANDBOX_ALLOWED_NETWORKS opens exactly what it names
and never the host. The "internet" and the "private network" are hosts in a network namespace
this test makes itself (a veth pair): 198.51.100.2 stands for a public address, 10.251.7.2 for
a private one. No real private address or internet host is contacted."""

from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest
from django.conf import settings

from apps.deploy.runtime.base import ResourceLimits
from apps.deploy.runtime.sandbox import enabled as sandbox_enabled

from .sandbox_support import Listener
from .test_sandbox_limits import deploy_hostile

pytestmark = [
    pytest.mark.runtime,
    pytest.mark.django_db,
    pytest.mark.skipif(not sandbox_enabled(), reason="DEPLOY_SANDBOX=off"),
]

PUBLIC, PRIVATE = "198.51.100.2", "10.251.7.2"
HOST_PUBLIC, HOST_PRIVATE = "198.51.100.1", "10.251.7.1"


IP = shutil.which("ip") or "/usr/sbin/ip"


def sh(*argv: str) -> None:
    subprocess.run([IP, *argv[1:]] if argv[0] == "ip" else argv, check=True, capture_output=True)


@pytest.fixture
def peer():
    """A host on the other end of a veth pair, serving HTTP on port 8080 at both addresses."""
    tag = uuid.uuid4().hex[:6]
    ns, host_if, peer_if = f"qtpeer{tag}", f"qth{tag}", f"qtp{tag}"
    sh("ip", "netns", "add", ns)
    server = None
    try:
        sh("ip", "link", "add", host_if, "type", "veth", "peer", "name", peer_if)
        sh("ip", "link", "set", peer_if, "netns", ns)
        for address in (f"{HOST_PUBLIC}/24", f"{HOST_PRIVATE}/24"):
            sh("ip", "addr", "add", address, "dev", host_if)
        sh("ip", "link", "set", host_if, "up")
        for address in (f"{PUBLIC}/24", f"{PRIVATE}/24"):
            sh("ip", "netns", "exec", ns, "ip", "addr", "add", address, "dev", peer_if)
        sh("ip", "netns", "exec", ns, "ip", "link", "set", peer_if, "up")
        sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        server = subprocess.Popen(
            [IP, "netns", "exec", ns, "python3", "-c",
             "import http.server as h\n"
             "class H(h.BaseHTTPRequestHandler):\n"
             "    def do_GET(self):\n"
             "        self.send_response(200); self.end_headers(); self.wfile.write(b'peer')\n"
             "    def log_message(self, *a): pass\n"
             "h.HTTPServer(('0.0.0.0', 8080), H).serve_forever()"],
        )  # fmt: skip
        yield ns
    finally:
        if server is not None:
            server.kill()
            server.wait()
        subprocess.run([IP, "link", "delete", host_if], capture_output=True)
        subprocess.run([IP, "netns", "delete", ns], capture_output=True)


def connect(runtime, host: str, address: str, port: int) -> str:
    return runtime.get(host, f"/connect?host={address}&port={port}").json()["result"]


def test_internet_yes_private_ranges_host_and_services_no(deployer, runtime, tmp_path, peer):
    listener = Listener()  # on every host address
    try:
        app = deploy_hostile(deployer, tmp_path)
        host = deployer.hostname(app)
        fetched = runtime.get(host, f"/fetch?url=http://{PUBLIC}:8080/").json()["result"]
        assert fetched == "REACHED: peer", fetched
        assert connect(runtime, host, PRIVATE, 8080).startswith("blocked")
        for address in (HOST_PUBLIC, HOST_PRIVATE, "10.0.2.2", "127.0.0.1"):
            assert connect(runtime, host, address, listener.port).startswith("blocked"), address

        # An operator opens the private network (and, carelessly, everything): the private
        # host answers; the host's own addresses and loopback stay shut.
        settings.DEPLOY_SANDBOX_ALLOWED_NETWORKS = ["10.251.7.0/24", "0.0.0.0/0"]
        runtime.provider.prepare_app(app.pk.hex, ResourceLimits())
        assert connect(runtime, host, PRIVATE, 8080).startswith("REACHED")
        for address in (HOST_PUBLIC, HOST_PRIVATE, "10.0.2.2", "127.0.0.1"):
            assert connect(runtime, host, address, listener.port).startswith("blocked"), address
        assert listener.accepted == 0
    finally:
        settings.DEPLOY_SANDBOX_ALLOWED_NETWORKS = []
        listener.close()
