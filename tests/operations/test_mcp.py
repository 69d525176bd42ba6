"""/mcp driven by the official MCP SDK's own client (Streamable HTTP) against a live server:
tools are the registry's operations, a read runs at once, a destructive call is refused until it
is confirmed, an agent key is refused what it may not run, and the audit log names the key."""

from __future__ import annotations

from contextlib import asynccontextmanager

import anyio
import httpx
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from apps.core.models import AuditEvent
from tests.threads import run_in_thread


@asynccontextmanager
async def _session(url: str, raw_key: str, *, modern: bool = False):
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {raw_key}"})
    async with (
        http,
        streamable_http_client(f"{url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        if modern:
            await session.discover()  # the 2026-07-28 per-request envelope
        else:
            await session.initialize()
        yield session


def test_tools_reads_confirmations_refusals_and_audit(mcp_server):
    url = mcp_server.url
    seen: dict = {}

    async def admin_agent():
        async with _session(url, mcp_server.admin_raw) as session:
            seen["version"] = session.protocol_version
            tools = {tool.name: tool for tool in (await session.list_tools()).tools}
            seen["tools"] = tools
            seen["apps"] = await session.call_tool("app.list", {})
            seen["monitors"] = await session.call_tool("monitor.list", {})
            args = {"monitor_id": mcp_server.monitor_id}
            seen["asked"] = await session.call_tool("monitor.delete", args)
            token = seen["asked"].structured_content["confirmation_token"]
            seen["bad"] = await session.call_tool(
                "monitor.delete", {**args, "confirmation_token": "qsc_forged"}
            )
            token = seen["bad"].structured_content["confirmation_token"]
            seen["done"] = await session.call_tool(
                "monitor.delete", {**args, "confirmation_token": token}
            )
            seen["after"] = await session.call_tool("monitor.list", {})

    async def limited_agent():
        async with _session(url, mcp_server.agent_raw, modern=True) as session:
            seen["agent_version"] = session.protocol_version
            seen["agent_tools"] = [tool.name for tool in (await session.list_tools()).tools]
            seen["agent_read"] = await session.call_tool("app.list", {})
            seen["agent_refused"] = await session.call_tool("monitor.list", {})

    run_in_thread(lambda: anyio.run(admin_agent), timeout_s=60)
    run_in_thread(lambda: anyio.run(limited_agent), timeout_s=60)

    tools = seen["tools"]
    assert seen["version"] == "2025-11-25"
    assert {"app.list", "app.deploy", "monitor.list", "monitor.delete"} <= set(tools)
    assert "tenant.suspend" not in tools  # operators only
    assert tools["app.list"].annotations.read_only_hint is True
    assert tools["app.list"].annotations.destructive_hint is False
    assert tools["monitor.delete"].annotations.destructive_hint is True
    assert tools["monitor.delete"].input_schema["required"] == ["monitor_id"]
    assert "confirmation_token" in tools["monitor.delete"].input_schema["properties"]

    assert not seen["apps"].is_error
    assert seen["apps"].structured_content["result"]["results"] == []
    monitors = seen["monitors"].structured_content["result"]["results"]
    assert [m["name"] for m in monitors] == ["nightly-backup"]

    asked = seen["asked"]
    assert asked.is_error and "Confirmation required" in asked.content[0].text
    assert "Delete monitor" in asked.structured_content["summary"]
    assert seen["bad"].is_error  # a forged token runs nothing
    assert not seen["done"].is_error, seen["done"].content
    assert seen["after"].structured_content["result"]["results"] == []

    assert seen["agent_version"] == "2026-07-28"
    assert seen["agent_tools"] == ["app.list"]
    assert not seen["agent_read"].is_error
    refused = seen["agent_refused"]
    assert refused.is_error and "may not run monitor.list" in refused.content[0].text

    executed = AuditEvent.objects.filter(action="operation.executed")
    assert [
        (e.actor_api_key_id, e.metadata["operation"], e.metadata["risk"], e.metadata["via"])
        for e in executed
    ] == [(mcp_server.admin_key.pk, "monitor.delete", "high", "mcp")]
    assert AuditEvent.objects.filter(
        action="monitor.deleted", actor_api_key_id=mcp_server.admin_key.pk
    ).exists()
    assert AuditEvent.objects.filter(
        action="operation.refused",
        actor_api_key_id=mcp_server.agent_key.pk,
        metadata__operation="monitor.list",
    ).exists()


def test_origin_and_credentials_are_checked(mcp_server):
    url = f"{mcp_server.url}/mcp"
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    key = {"Authorization": f"Bearer {mcp_server.admin_raw}"}
    assert httpx.post(url, json=ping, headers=key).json() == {
        "jsonrpc": "2.0",
        "id": 1,
        "result": {},
    }
    foreign = httpx.post(url, json=ping, headers={**key, "Origin": "http://evil.example"})
    assert foreign.status_code == 403
    same = httpx.post(url, json=ping, headers={**key, "Origin": mcp_server.url})
    assert same.status_code == 200
    assert httpx.post(url, json=ping).status_code == 401
    assert (
        httpx.post(url, json=ping, headers={"Authorization": "Bearer qs_nope"}).status_code == 401
    )
    note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert httpx.post(url, json=note, headers=key).status_code == 202
    assert httpx.get(url, headers=key).status_code == 405
