"""`/mcp`: the Model Context Protocol over Streamable HTTP, stateless, with JSON answers.

One POST carries one JSON-RPC message. Requests get a JSON answer (no SSE stream, no session
id); notifications and responses get 202. GET (a server-to-client stream) and DELETE (ending a
session) answer 405: there are no sessions. Both eras of the protocol are spoken: the
`initialize` handshake (revisions up to 2025-11-25) and the stateless per-request envelope of
2026-07-28 (`server/discover`; the version in `_meta` or `MCP-Protocol-Version`), with the SDK's
own per-revision types (`mcp_types.methods`) parsing requests and shaping results.

Auth is a tenant API key (`Authorization: Bearer qs_…`): the tenant is the key's. A browser's
`Origin` must be this host or one of settings.MCP_ALLOWED_ORIGINS (DNS-rebinding defence);
other origins get 403."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit

import pydantic
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from mcp_types import methods
from mcp_types.version import (
    HANDSHAKE_PROTOCOL_VERSIONS,
    KNOWN_PROTOCOL_VERSIONS,
    LATEST_HANDSHAKE_VERSION,
    MODERN_PROTOCOL_VERSIONS,
)

from apps.accounts.authentication import ApiKeyPrincipal
from apps.accounts.services import api_key_authenticate
from apps.core.request_context import get_request_id

from . import mcp_tools
from .caller import Caller

logger = logging.getLogger("quayside.mcp")

PROTOCOL_VERSION_HEADER = "MCP-Protocol-Version"
PROTOCOL_VERSION_META_KEY = "io.modelcontextprotocol/protocolVersion"
DEFAULT_VERSION = "2025-03-26"  # what a request without the header is taken to speak
PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602
SERVER_INFO = {"name": "quayside", "title": "Quayside", "version": "1"}
INSTRUCTIONS = (
    "Quayside runs this tenant's apps and monitors. Each tool is an operation of the registry "
    "(GET /api/v1/operations). Tools marked destructive answer first with a confirmation "
    "token and what they will do; call them again with `confirmation_token` to run them."
)


@csrf_exempt
def mcp_endpoint(request: HttpRequest) -> HttpResponse:
    if not _origin_allowed(request):
        return _rpc_error(None, INVALID_REQUEST, "Origin not allowed.", status=403)
    if request.method != "POST":
        response = HttpResponse(status=405)
        response["Allow"] = "POST"
        return response
    header_version = request.headers.get(PROTOCOL_VERSION_HEADER)
    if header_version is not None and header_version not in KNOWN_PROTOCOL_VERSIONS:
        return _rpc_error(None, INVALID_REQUEST, f"Unsupported protocol version {header_version}.")
    caller = _authenticate(request)
    if caller is None:
        response = _rpc_error(
            None, INVALID_REQUEST, "Send Authorization: Bearer qs_… (an API key)."
        )
        response.status_code = 401
        response["WWW-Authenticate"] = 'Bearer realm="mcp"'
        return response
    try:
        message = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return _rpc_error(None, PARSE_ERROR, "The body is not JSON.", status=400)
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        return _rpc_error(None, INVALID_REQUEST, "Send one JSON-RPC 2.0 message.", status=400)
    if "method" not in message or "id" not in message:
        return HttpResponse(status=202)  # a notification or a response: accepted, no answer
    connection.set_tenant(caller.tenant)
    request.tenant = caller.tenant
    return _answer(caller, message, header_version)


def _answer(caller: Caller, message: dict[str, Any], header_version: str | None) -> HttpResponse:
    rpc_id, method = message["id"], message["method"]
    params = message.get("params") or {}
    if not isinstance(params, dict):
        return _rpc_error(rpc_id, INVALID_PARAMS, "params must be an object.")
    meta = params.get("_meta") or {}
    version = meta.get(PROTOCOL_VERSION_META_KEY) or header_version or DEFAULT_VERSION
    if method == "initialize":
        asked = params.get("protocolVersion")
        version = asked if asked in HANDSHAKE_PROTOCOL_VERSIONS else LATEST_HANDSHAKE_VERSION
    try:
        request_model = methods.parse_client_request(method, version, params)
    except (KeyError, ValueError):
        return _rpc_error(rpc_id, METHOD_NOT_FOUND, f"No method {method!r} at {version}.")
    except pydantic.ValidationError as exc:
        return _rpc_error(rpc_id, INVALID_PARAMS, f"Invalid params: {exc.errors()[:3]}")
    try:
        result = _result(caller, method, request_model.params, version)
    except mcp_tools.UnknownTool as exc:
        return _rpc_error(rpc_id, INVALID_PARAMS, f"Unknown tool: {exc}")
    if version in MODERN_PROTOCOL_VERSIONS:
        # 2026-07-28 wants these: complete results, and no caching of answers, which depend on
        # the key (its authority and allow-list).
        result.setdefault("resultType", "complete")
        result.setdefault("cacheScope", "private")
        result.setdefault("ttlMs", 0)
    shaped = methods.serialize_server_result(method, version, result)
    return JsonResponse({"jsonrpc": "2.0", "id": rpc_id, "result": shaped})


def _result(caller: Caller, method: str, params: Any, version: str) -> dict[str, Any]:
    capabilities = {"tools": {"listChanged": False}}
    if method == "initialize":
        return {
            "protocolVersion": version,
            "capabilities": capabilities,
            "serverInfo": SERVER_INFO,
            "instructions": INSTRUCTIONS,
        }
    if method == "server/discover":
        return {
            "supportedVersions": list(MODERN_PROTOCOL_VERSIONS),
            "capabilities": capabilities,
            "instructions": INSTRUCTIONS,
            "_meta": {"io.modelcontextprotocol/serverInfo": SERVER_INFO},
        }
    if method == "ping":
        return {}
    if method == "tools/list":
        return {"tools": mcp_tools.list_tools(caller)}
    if method == "tools/call":
        return mcp_tools.call_tool(caller, params.name, params.arguments)
    raise mcp_tools.UnknownTool(method)  # pragma: no cover - parse_client_request gates methods


def _authenticate(request: HttpRequest) -> Caller | None:
    parts = request.headers.get("Authorization", "").split()
    if len(parts) != 2 or parts[0].lower() != "bearer" or not parts[1].startswith("qs_"):
        return None
    api_key = api_key_authenticate(raw_key=parts[1])
    if api_key is None:
        return None
    # On a tenant's own host, only that tenant's keys.
    host_tenant = getattr(request, "tenant", None)
    if host_tenant is not None and host_tenant.pk != api_key.tenant_id:
        return None
    return Caller(
        request=request,
        user=ApiKeyPrincipal(api_key),
        api_key=api_key,
        tenant=api_key.tenant,
        role=api_key.authority,
        via="mcp",
    )


def _origin_allowed(request: HttpRequest) -> bool:
    origin = request.headers.get("Origin")
    if not origin:
        return True  # not a browser: nothing to rebind
    if origin in getattr(settings, "MCP_ALLOWED_ORIGINS", []):
        return True
    parts = urlsplit(origin)
    return bool(parts.netloc) and parts.netloc == request.get_host()


def _rpc_error(rpc_id: Any, code: int, message: str, *, status: int = 200) -> JsonResponse:
    body = {
        "jsonrpc": "2.0",
        "id": rpc_id,
        "error": {"code": code, "message": message, "data": {"request_id": get_request_id()}},
    }
    return JsonResponse(body, status=status)
