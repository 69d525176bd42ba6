"""Each app's network: a network namespace of its own (`ip netns`), user-mode networking to the
internet through slirp4netns, and an nftables table inside the namespace that refuses what
apps must not reach.

- The namespace's loopback is its own; slirp4netns runs with --disable-host-loopback, so the
  gateway (10.0.2.2) does not lead to the host's 127.0.0.1.
- Refused always: the host's own addresses (a service listening on 0.0.0.0 would otherwise
  answer through slirp4netns), the addresses of Quayside's own services (DATABASE_URL,
  REDIS_URL, the Celery broker), and DEPLOY_SANDBOX_ALLOWED_NETWORKS cannot reopen them.
- Refused unless DEPLOY_SANDBOX_ALLOWED_NETWORKS names them: private, shared, link-local,
  loopback, multicast and reserved IPv4 ranges, and all of IPv6 but the namespace's loopback.
- Allowed: slirp4netns's DNS forwarder (10.0.2.3:53) and everything else (the internet).

The table belongs to root in the host's user namespace: a sandboxed process (another uid, no
capabilities, its own user namespace) cannot change it. Inbound traffic reaches apps through
unix sockets only (see local.py), never through this namespace."""

from __future__ import annotations

import ipaddress
import json
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

from ..base import RuntimeProblem
from .host_tools import run as run_tool

NETNS_DIR = Path("/run/netns")
DNS = "10.0.2.3"
GATEWAY = "10.0.2.2"
PRIVATE_V4 = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "224.0.0.0/4",
    "240.0.0.0/4",
)


def netns_name(app_key: str) -> str:
    return f"q{app_key[:14]}"


def netns_path(app_key: str) -> Path:
    return NETNS_DIR / netns_name(app_key)


def parse_allowed(networks: list[str]) -> list[ipaddress.IPv4Network]:
    """The operator's extra networks; IPv4 CIDRs only (the namespace has no IPv6 route)."""
    out = []
    for text in networks:
        try:
            network = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError as exc:
            raise RuntimeProblem(
                f"DEPLOY_SANDBOX_ALLOWED_NETWORKS: {text!r} is not a network (CIDR)."
            ) from exc
        if network.version != 4:
            raise RuntimeProblem(
                f"DEPLOY_SANDBOX_ALLOWED_NETWORKS: {text!r}: only IPv4 networks are supported."
            )
        out.append(network)
    return out


def host_addresses() -> set[str]:
    """Every IPv4 address of the host's interfaces."""
    try:
        shown = subprocess.run(
            ["ip", "-j", "-4", "addr", "show"], capture_output=True, text=True, timeout=10
        ).stdout
        return {
            info["local"]
            for link in json.loads(shown or "[]")
            for info in link.get("addr_info", [])
            if info.get("local")
        }
    except (OSError, subprocess.SubprocessError, ValueError):
        return set()


def service_addresses(urls: list[str]) -> set[str]:
    """IPv4 addresses of Quayside's own services (database, Redis, broker), resolved now."""
    out: set[str] = set()
    for url in urls:
        host = urlsplit(url).hostname if url else None
        if not host or host.startswith("/"):
            continue
        try:
            for info in socket.getaddrinfo(host, None, socket.AF_INET):
                out.add(str(info[4][0]))
        except OSError:
            continue
    return out


def ruleset(*, denied: set[str], allowed: list[ipaddress.IPv4Network]) -> str:
    """The nftables table put into every app's namespace."""
    lines = [
        "table inet quayside {",
        "  chain output {",
        "    type filter hook output priority 0; policy accept;",
        '    oifname "lo" accept',
        f"    ip daddr {DNS} udp dport 53 accept",
        f"    ip daddr {DNS} tcp dport 53 accept",
        f"    ip daddr {GATEWAY} reject",
    ]
    if denied:
        lines.append(f"    ip daddr {{ {', '.join(sorted(denied))} }} reject")
    if allowed:
        lines.append(f"    ip daddr {{ {', '.join(str(n) for n in allowed)} }} accept")
    lines += [
        f"    ip daddr {{ {', '.join(PRIVATE_V4)} }} reject",
        "    meta nfproto ipv6 reject",
        "  }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def ensure_namespace(app_key: str, rules: str) -> bool:
    """Make the app's namespace with its table, unless it exists; True if it was made."""
    if netns_path(app_key).exists():
        return False
    name = netns_name(app_key)
    run_tool(["ip", "netns", "add", name], what=f"create network namespace {name}")
    try:
        run_tool(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], what="set lo up")
        run_tool(["ip", "netns", "exec", name, "nft", "-f", "-"], what="load nftables", stdin=rules)
    except RuntimeProblem:
        delete_namespace(app_key)
        raise
    return True


def reload_rules(app_key: str, rules: str) -> None:
    name = netns_name(app_key)
    run_tool(
        ["ip", "netns", "exec", name, "nft", "-f", "-"],
        what="reload nftables",
        stdin="flush ruleset\n" + rules,
    )


def delete_namespace(app_key: str) -> None:
    if netns_path(app_key).exists():
        subprocess.run(["ip", "netns", "delete", netns_name(app_key)], capture_output=True)


def slirp_command(app_key: str) -> list[str]:
    """The user-mode network of the namespace, kept running by supervisord."""
    return [
        "slirp4netns",
        "--netns-type=path",
        "--configure",
        "--mtu=65520",
        "--disable-host-loopback",
        # --enable-sandbox (its own mount namespace, fewer capabilities) fails with a
        # namespace given by path on slirp4netns 1.2 ("setting the network namespace failed:
        # Invalid argument"); the seccomp filter works.
        "--enable-seccomp",
        str(netns_path(app_key)),
        "tap0",
    ]


def wait_for_tap(app_key: str, timeout_s: float = 5.0) -> None:
    """Wait until slirp4netns has made tap0 in the namespace, so that outbound works from the
    first process on."""
    name = netns_name(app_key)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        shown = subprocess.run(
            ["ip", "netns", "exec", name, "ip", "-o", "link", "show", "tap0"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if shown.returncode == 0 and "UP" in shown.stdout:
            return
        time.sleep(0.05)
    raise RuntimeProblem(f"The app's network (slirp4netns) did not come up within {timeout_s:g} s.")
