"""Outbound connections that cannot be pointed at our own network (SSRF guard).

Anything that connects to an address a tenant chose (uptime checks, outgoing webhooks, alert
webhooks, git fetches: apps.deploy.runtime.git pins git to the address `resolve` returns) goes
through this module. The guard checks the address actually connected to, after DNS
resolution, not the host name: a name that resolves to 127.0.0.1 or 169.254.169.254 is refused as
firmly as the literal. For HTTP the check sits in httpcore's network backend, so redirects and
keep-alive reconnects are guarded too, and the connection goes to the very address that was
checked (no second lookup that DNS rebinding could answer differently).

Refused: every address that is not globally routable (private, loopback, link-local, CGNAT,
unspecified, reserved, documentation) and multicast, IPv4-mapped IPv6 included, and the whole
local-use NAT64 prefix 64:ff9b:1::/48 (RFC 8215). The operator may allow networks with
settings.OUTBOUND_ALLOWED_NETWORKS (CIDRs; `0.0.0.0/0` and `::/0` allow everything), e.g.
`127.0.0.0/8` in tests or a private range on a LAN install."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import sys
import typing
from urllib.parse import SplitResult, urlsplit

import httpcore
import httpx
from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# httpcore runs `import sniffio` each time it makes a lock (several times per request). Without
# sniffio installed (anyio 4 no longer needs it) each of those is a failed import that scans
# sys.path: measured, that halved check throughput. Record the absence once, so the import
# fails at once (httpcore then assumes asyncio, which is what we run).
try:
    import sniffio  # noqa: F401
except ImportError:
    sys.modules["sniffio"] = None


class BlockedTarget(Exception):
    """The target resolves to an address outbound connections may not reach."""


class Unresolved(BlockedTarget):
    """The target's name does not resolve (yet): there is no address to judge. Saving a
    target may let it pass; connecting cannot."""


@functools.lru_cache(maxsize=8)
def _parse_networks(networks: tuple[str, ...]) -> tuple[ipaddress._BaseNetwork, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in networks)


def allowed_networks() -> tuple[ipaddress._BaseNetwork, ...]:
    return _parse_networks(tuple(getattr(settings, "OUTBOUND_ALLOWED_NETWORKS", ()) or ()))


NAT64_V6 = ipaddress.ip_network("64:ff9b::/96")
# RFC 8215 local-use NAT64 prefix: where in it the IPv4 sits depends on the operator's prefix
# length (RFC 6052), so it is not unwrapped but refused whole (Python 3.11 counts it global).
NAT64_LOCAL_V6 = ipaddress.ip_network("64:ff9b:1::/48")
SITE_LOCAL_V6 = ipaddress.ip_network("fec0::/10")  # deprecated, still routed on some networks


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for, when it embeds one (mapped ::ffff:a.b.c.d,
    6to4 2002::/16, NAT64 64:ff9b::/96, deprecated compatible ::a.b.c.d): the guard judges
    that one, so 64:ff9b::a9fe:a9fe is the metadata address 169.254.169.254 it is."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    packed = int(address)
    if address in NAT64_V6 or (packed >> 32 == 0 and packed > 1):
        return ipaddress.IPv4Address(packed & 0xFFFFFFFF)
    if (packed >> 32) == 0xFFFF0000:  # ::ffff:0:a.b.c.d (translated, RFC 2765)
        return ipaddress.IPv4Address(packed & 0xFFFFFFFF)
    return None


def ip_allowed(ip: str | IPAddress) -> bool:
    """Whether outbound connections may reach `ip` under the current settings."""
    address = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    local_nat64 = False
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            address = embedded
        elif address in SITE_LOCAL_V6:
            return False
        else:
            local_nat64 = address in NAT64_LOCAL_V6
    for network in allowed_networks():
        if address.version == network.version and address in network:
            return True
    return address.is_global and not address.is_multicast and not local_nat64


def http_url_parts(url: str) -> SplitResult | None:
    """`url` split, when it is an http(s) URL with a host and a valid port; None otherwise.
    Saving a target checks it with this: urlsplit() and its attributes raise ValueError on
    input like `http://[::1/`, `https://[example.com]/` or `http://host:99999/`."""
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname, parts.port
    except (ValueError, TypeError):
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    return parts


def check_ip(ip: str, *, host: str = "") -> str:
    if not ip_allowed(ip):
        shown = f"{host} ({ip})" if host and host != ip else ip
        raise BlockedTarget(f"{shown} is a private, loopback or link-local address.")
    return ip


def _pick(infos: list, host: str) -> str:
    """The first resolved address; every resolved address must be allowed (a name that
    mixes public and private answers is refused, rather than raced)."""
    if not infos:
        raise Unresolved(f"{host} does not resolve.")
    addresses = [info[4][0] for info in infos]
    for address in addresses:
        check_ip(address, host=host)
    return addresses[0]


def _localhost(host: str) -> bool:
    """RFC 6761 §6.3: `localhost` and every name under it are the loopback address, whatever
    the system resolver says (glibc does not resolve `*.localhost`; the local runtime serves
    apps there). Loopback is still refused unless the operator allows it."""
    host = host.lower().rstrip(".")
    return host == "localhost" or host.endswith(".localhost")


def resolve(host: str, port: int) -> str:
    """Resolve `host` (blocking) and return an allowed address to connect to."""
    if _localhost(host):
        return check_ip("127.0.0.1", host=host)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise Unresolved(f"{host} does not resolve: {exc.strerror}.") from exc
    return _pick(infos, host)


async def aresolve(host: str, port: int) -> str:
    """Resolve `host` without blocking the event loop; return an allowed address."""
    try:
        ipaddress.ip_address(host)
        return check_ip(host)
    except ValueError:
        pass
    if _localhost(host):
        return check_ip("127.0.0.1", host=host)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise Unresolved(f"{host} does not resolve: {exc.strerror}.") from exc
    return _pick(infos, host)


async def open_connection(host: str, port: int, *, timeout: float, **kwargs: typing.Any):
    """asyncio.open_connection to an allowed address of `host` (TLS: pass ssl= and
    server_hostname=host; the certificate is checked against the name, not the address)."""
    address = await asyncio.wait_for(aresolve(host, port), timeout)
    return await asyncio.wait_for(asyncio.open_connection(address, port, **kwargs), timeout)


# --- HTTP (httpx) ---------------------------------------------------------------------------


class _GuardedAsyncBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        address = await aresolve(host, port)
        return await self._inner.connect_tcp(
            address,
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(self, *args, **kwargs):  # pragma: no cover
        raise BlockedTarget("Unix sockets are not reachable from outbound connections.")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedSyncBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        address = resolve(host, port)
        return self._inner.connect_tcp(
            address,
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    def connect_unix_socket(self, *args, **kwargs):  # pragma: no cover
        raise BlockedTarget("Unix sockets are not reachable from outbound connections.")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def guarded_async_transport(**kwargs: typing.Any) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose every TCP connection passes the guard. No proxies (a proxy
    would connect on our behalf, unguarded)."""
    kwargs.setdefault("trust_env", False)
    transport = httpx.AsyncHTTPTransport(**kwargs)
    transport._pool._network_backend = _GuardedAsyncBackend()
    return transport


def guarded_transport(**kwargs: typing.Any) -> httpx.HTTPTransport:
    kwargs.setdefault("trust_env", False)
    transport = httpx.HTTPTransport(**kwargs)
    transport._pool._network_backend = _GuardedSyncBackend()
    return transport


def guarded_async_client(*, verify: bool = True, **kwargs: typing.Any) -> httpx.AsyncClient:
    limits = kwargs.pop("limits", httpx.Limits(max_connections=1000, max_keepalive_connections=200))
    return httpx.AsyncClient(
        transport=guarded_async_transport(verify=verify, limits=limits),
        trust_env=False,
        **kwargs,
    )


def guarded_client(*, verify: bool = True, **kwargs: typing.Any) -> httpx.Client:
    return httpx.Client(transport=guarded_transport(verify=verify), trust_env=False, **kwargs)
