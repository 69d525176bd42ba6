"""HTTP(S) checks: expected status, keyword present/absent, a JSON field condition, and a
response time limit. The body is read only when a condition needs it, and at most
max_body_bytes of it."""

from __future__ import annotations

import functools
import json
import re
import time
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import httpcore
import httpx

from apps.core import crypto

from ..url_credentials import basic_authorization
from .base import CheckSpec, Outcome
from .transport import BACKEND, ssl_context

DEFAULT_EXPECTED = ("200-299",)
USER_AGENT = b"Quayside-Monitor/1.0"


def status_expected(code: int, expected: tuple[str, ...]) -> bool:
    for item in expected or DEFAULT_EXPECTED:
        low, _, high = str(item).partition("-")
        if int(low) <= code <= int(high or low):
            return True
    return False


_MISSING = object()


def json_lookup(document: Any, path: str) -> Any:
    """`a.b.0.c` into nested objects and lists; _MISSING when the path does not exist."""
    node = document
    for part in path.split(".") if path else []:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif (
            isinstance(node, list)
            and part.lstrip("-").isdigit()
            and -len(node) <= int(part) < len(node)
        ):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def json_condition(value: Any, operator: str, expected: str) -> bool:
    if value is _MISSING:
        return False
    if operator == "exists":
        return True
    if operator in ("gt", "lt"):
        try:
            left, right = float(value), float(expected)
        except (TypeError, ValueError):
            return False
        return left > right if operator == "gt" else left < right
    if operator == "contains":
        if isinstance(value, list):
            return any(_as_text(item) == expected for item in value)
        return expected in _as_text(value)
    equal = _as_text(value) == expected
    return equal if operator == "eq" else not equal


_REDIRECTS = {301, 302, 303, 307, 308}
MAX_REDIRECTS = 20
_NETWORK_ERRORS = (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol)
_CHARSET = re.compile(r"charset=[\"']?([\w.:-]+)", re.IGNORECASE)


@dataclass(frozen=True)
class _Target:
    """A URL parsed once for all the checks of a monitor (lru_cache below)."""

    url: httpcore.URL
    host_header: bytes
    authorization: bytes | None


@functools.lru_cache(maxsize=65536)
def _target(url: str) -> _Target:
    parsed = httpx.URL(url)  # validation, IDNA, default ports: httpx's parser
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise httpx.InvalidURL(f"Not an http(s) URL: {url!r}")
    host = parsed.raw_host
    if b":" in host:  # IPv6 literal
        host = b"[" + host + b"]"
    host_header = host if parsed.port is None else host + b":" + str(parsed.port).encode()
    # A monitor's own URL has no userinfo (url_credentials.py); one a redirect names may.
    authorization = basic_authorization(parsed.userinfo.decode()) if parsed.userinfo else None
    return _Target(
        url=httpcore.URL(scheme=parsed.raw_scheme, host=parsed.raw_host, port=parsed.port,
                         target=parsed.raw_path),
        host_header=host_header,
        authorization=authorization,
    )  # fmt: skip


@functools.lru_cache(maxsize=65536)
def _stored_authorization(token: str) -> bytes:
    """The Authorization header for a monitor's encrypted URL credentials. Cached by token: a
    Fernet decryption costs about as much as the rest of a check's request building."""
    return basic_authorization(crypto.decrypt(token))


async def _exchange(
    spec: CheckSpec, method: str, url: str, read_body: bool, credentials: tuple | None
):
    """One request on a connection of its own: (status, headers, body). `credentials`:
    (origin, Authorization value) of the monitor's own URL, sent to that origin only (a
    redirect elsewhere does not get them, as with httpx)."""
    target = _target(url)
    authorization = target.authorization
    if authorization is None and credentials and target.url.origin == credentials[0]:
        authorization = credentials[1]
    headers = [
        (b"Host", target.host_header),
        (b"User-Agent", USER_AGENT),
        (b"Accept", b"*/*"),
        (b"Accept-Encoding", b"gzip, deflate"),
        (b"Connection", b"close"),
    ]
    if authorization:
        headers.append((b"Authorization", authorization))
    timeout = spec.timeout_s
    request = httpcore.Request(
        method.encode(),
        target.url,
        headers=headers,
        extensions={"timeout": {"connect": timeout, "read": timeout, "write": timeout,
                                "pool": timeout}},
    )  # fmt: skip
    connection = httpcore.AsyncHTTPConnection(
        origin=target.url.origin,
        ssl_context=ssl_context(spec.verify_tls),
        network_backend=BACKEND,
    )
    try:
        response = await connection.handle_async_request(request)
        try:
            body = await _read_body(response, spec.max_body_bytes) if read_body else b""
        finally:
            await response.aclose()
    finally:
        await connection.aclose()
    return response.status, response.headers, body


def _header(headers: list, name: bytes) -> str:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


async def _read_body(response: httpcore.Response, limit: int) -> bytes:
    """At most `limit` bytes of the body, decompressed if the server compressed it."""
    encoding = _header(response.headers, b"content-encoding").strip().lower()
    inflate = zlib.decompressobj(zlib.MAX_WBITS | 32) if encoding in ("gzip", "deflate") else None
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_stream():
        if inflate is not None:
            chunk = inflate.decompress(chunk, limit - size)
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


def _text(body: bytes, headers: list) -> str:
    match = _CHARSET.search(_header(headers, b"content-type"))
    charset = match.group(1) if match else "utf-8"
    try:
        return body.decode(charset, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


async def check_http(spec: CheckSpec) -> Outcome:
    """The request goes out on httpcore directly (one connection, guarded, closed after the
    response) rather than through an httpx client: measured, the client's layers (URL and
    header models, cookies, auth and redirect machinery) were half the CPU of a check.
    Redirects are followed here like httpx does (at most 20; 303, and 301/302 after a POST,
    become GET)."""
    needs_body = bool(spec.keyword or spec.json_path)
    started = time.perf_counter()
    method, url = spec.method, spec.url
    try:
        credentials = None
        if spec.url_credentials_encrypted:
            credentials = (
                _target(url).url.origin,
                _stored_authorization(spec.url_credentials_encrypted),
            )
        for _ in range(MAX_REDIRECTS + 1):
            status, headers, body = await _exchange(spec, method, url, needs_body, credentials)
            location = _header(headers, b"location")
            if not (spec.follow_redirects and status in _REDIRECTS and location):
                break
            url = urljoin(url, location.strip())
            if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
                method = "GET"
        else:
            return Outcome(ok=False, error=f"More than {MAX_REDIRECTS} redirects.")
    except httpcore.TimeoutException:
        return Outcome(ok=False, error=f"Timed out after {spec.timeout_s:g} s.")
    except (*_NETWORK_ERRORS, httpx.InvalidURL) as exc:
        return Outcome(ok=False, error=f"{type(exc).__name__}: {exc}"[:500] or "connection failed")
    except crypto.DecryptionError:
        return Outcome(ok=False, error="The URL's credentials cannot be decrypted (key missing).")
    elapsed_ms = int((time.perf_counter() - started) * 1000)
    outcome = Outcome(ok=True, response_ms=elapsed_ms, status_code=status)

    if not status_expected(status, spec.expected_status):
        expected = ", ".join(spec.expected_status or DEFAULT_EXPECTED)
        return _fail(outcome, f"Status {status}, expected {expected}.")
    if spec.keyword:
        found = spec.keyword in _text(body, headers)
        if spec.keyword_mode == "present" and not found:
            return _fail(outcome, f"Keyword {spec.keyword!r} not found.")
        if spec.keyword_mode == "absent" and found:
            return _fail(outcome, f"Keyword {spec.keyword!r} found.")
    if spec.json_path:
        try:
            document = json.loads(body)
        except ValueError:
            return _fail(outcome, "The response is not JSON.")
        value = json_lookup(document, spec.json_path)
        if not json_condition(value, spec.json_operator, spec.json_value):
            shown = "missing" if value is _MISSING else _as_text(value)[:100]
            return _fail(
                outcome,
                f"JSON {spec.json_path} is {shown}; expected {spec.json_operator} "
                f"{spec.json_value!r}.",
            )
    if spec.max_response_ms is not None and elapsed_ms > spec.max_response_ms:
        return _fail(outcome, f"Took {elapsed_ms} ms, limit {spec.max_response_ms} ms.")
    return outcome


def _fail(outcome: Outcome, error: str) -> Outcome:
    outcome.ok = False
    outcome.error = error[:500]
    return outcome
