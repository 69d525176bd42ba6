"""HTTP(S) checks: expected status, keyword present/absent, a JSON field condition, and a
response time limit. The body is read only when a condition needs it, and at most
max_body_bytes of it."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from .base import CheckSpec, Outcome

DEFAULT_EXPECTED = ("200-299",)


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


async def _read_body(response: httpx.Response, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


async def check_http(spec: CheckSpec, client: httpx.AsyncClient) -> Outcome:
    needs_body = bool(spec.keyword or spec.json_path)
    started = time.perf_counter()
    request = client.build_request(
        spec.method,
        spec.url,
        timeout=spec.timeout_s,
        headers={"User-Agent": "Quayside-Monitor/1.0", "Accept": "*/*"},
    )
    try:
        response = await client.send(request, stream=True, follow_redirects=spec.follow_redirects)
    except httpx.TimeoutException:
        return Outcome(ok=False, error=f"Timed out after {spec.timeout_s:g} s.")
    except httpx.HTTPError as exc:
        return Outcome(ok=False, error=f"{type(exc).__name__}: {exc}"[:500] or "connection failed")
    try:
        body = await _read_body(response, spec.max_body_bytes) if needs_body else b""
    finally:
        await response.aclose()
    elapsed_ms = int((time.perf_counter() - started) * 1000)
    outcome = Outcome(ok=True, response_ms=elapsed_ms, status_code=response.status_code)

    if not status_expected(response.status_code, spec.expected_status):
        expected = ", ".join(spec.expected_status or DEFAULT_EXPECTED)
        return _fail(outcome, f"Status {response.status_code}, expected {expected}.")
    if spec.keyword:
        found = spec.keyword in body.decode(response.encoding or "utf-8", errors="replace")
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
