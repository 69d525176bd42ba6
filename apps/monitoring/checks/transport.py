"""The network layer of HTTP checks: an httpcore network backend on plain asyncio streams whose
every connection goes through the SSRF guard (`apps.core.net.aresolve`: the address connected
to is the one checked), and the TLS contexts.

Why not httpcore's AnyIO backend (what httpx uses): it adds cancel scopes and async-library
detection to every read and write. Why no connection pool: httpcore's pool costs O(connections)
per request (with hundreds of checks in flight one process managed under 100 checks/s), and a
check should see what a new visitor sees; each check opens a connection and closes it."""

from __future__ import annotations

import asyncio
import functools
import os
import ssl
import typing

import httpcore
import httpx
from django.conf import settings
from httpcore._utils import is_socket_readable

from apps.core.net import aresolve


class _Stream(httpcore.AsyncNetworkStream):
    __slots__ = ("_reader", "_writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(str(exc) or "read timed out") from exc
        except OSError as exc:
            raise httpcore.ReadError(str(exc)) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            self._writer.write(buffer)
            async with asyncio.timeout(timeout):
                await self._writer.drain()
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(str(exc) or "write timed out") from exc
        except OSError as exc:
            raise httpcore.WriteError(str(exc)) from exc

    async def aclose(self) -> None:
        self._writer.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError as exc:
            self._writer.close()
            raise httpcore.ConnectTimeout(str(exc) or "TLS handshake timed out") from exc
        except (OSError, ssl.SSLError) as exc:
            self._writer.close()
            raise httpcore.ConnectError(str(exc)) from exc
        return self

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        if info == "is_readable":
            return is_socket_readable(self._writer.get_extra_info("socket"))
        return None


class GuardedAsyncioBackend(httpcore.AsyncNetworkBackend):
    """Connects to an address the SSRF guard allowed (the very address it checked)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                address = await aresolve(host, port)
                reader, writer = await asyncio.open_connection(
                    address, port, local_addr=(local_address, 0) if local_address else None
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc) or "connect timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock = writer.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return _Stream(reader, writer)

    async def connect_unix_socket(self, *args, **kwargs):  # pragma: no cover
        raise httpcore.ConnectError("Unix sockets are not reachable from outbound connections.")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def ssl_context(verify: bool) -> ssl.SSLContext:
    """The system's CAs, plus those of OUTBOUND_TRUSTED_CA_FILES that exist (local mode: Caddy's
    local CA, whose root appears once Caddy has started, so a context is kept per version of
    those files)."""
    extra = []
    for name in settings.OUTBOUND_TRUSTED_CA_FILES if verify else ():
        try:
            extra.append((name, os.stat(name).st_mtime_ns))
        except OSError:
            continue
    return _ssl_context(verify, tuple(extra))


@functools.lru_cache(maxsize=8)
def _ssl_context(verify: bool, extra: tuple[tuple[str, int], ...]) -> ssl.SSLContext:
    """Loading the CA bundle costs about 0.1 s of CPU: once per process, not once per run."""
    context = httpx.create_ssl_context(verify=verify)
    for name, _version in extra:
        context.load_verify_locations(cafile=name)
    return context


BACKEND = GuardedAsyncioBackend()
