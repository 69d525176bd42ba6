"""The MCP tools: the registry's operations an API key may run (docs/agents.md).

A tool's input schema is its operation's, plus `confirmation_token` on high and critical ones;
`readOnlyHint` marks reads, `destructiveHint` high and critical writes. A call runs through
services.operation_execute, as /api/v1/operations/{name}/execute does: refusals, a confirmation
to ask for and the endpoint's errors come back as tool results with `isError`, so the agent
reads them."""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types

from apps.core.problems import ApplicationError
from apps.tenants.roles import role_at_least

from . import registry, services
from .caller import Caller
from .dispatch import EndpointProblem
from .registry import Operation

TOKEN_PROPERTY = {
    "type": "string",
    "description": "Only to confirm: the token a previous call of this tool answered with.",
}


class UnknownTool(Exception):
    pass


def visible_operations(caller: Caller) -> list[Operation]:
    """The tenant operations the key's authority and allow-list let it run."""
    allowed = set(caller.allowed_operations)
    return [
        op
        for op in registry.all_operations()
        if not op.operator_only
        and (not allowed or op.name in allowed)
        and role_at_least(caller.role, op.resolved_role)
    ]


def tool_of(operation: Operation) -> types.Tool:
    schema = dict(operation.resolved_schema)
    if operation.needs_confirmation:
        schema["properties"] = {
            **schema.get("properties", {}),
            "confirmation_token": TOKEN_PROPERTY,
        }
    description = operation.resolved_description
    if operation.needs_confirmation:
        description += (
            f"\n\nRisk {operation.risk}: the first call answers with a confirmation token and "
            "what it will do; call again with `confirmation_token` to run it."
        )
    return types.Tool(
        name=operation.name,
        title=operation.resolved_description.split("\n")[0][:120] or operation.name,
        description=description,
        input_schema=schema,
        annotations=types.ToolAnnotations(
            read_only_hint=operation.read_only,
            destructive_hint=operation.needs_confirmation and not operation.read_only,
            idempotent_hint=operation.read_only,
            open_world_hint=False,
        ),
    )


def list_tools(caller: Caller) -> list[dict[str, Any]]:
    return [
        tool_of(op).model_dump(by_alias=True, mode="json", exclude_none=True)
        for op in visible_operations(caller)
    ]


def call_tool(caller: Caller, name: str, arguments: dict[str, Any] | None) -> dict[str, Any]:
    """A CallToolResult (wire-shaped dict) for tools/call."""
    operation = registry.get(name)
    if operation is None or operation.operator_only:
        raise UnknownTool(name)
    arguments = dict(arguments or {})
    token = arguments.pop("confirmation_token", None)
    try:
        result = services.operation_execute(
            operation=operation,
            caller=caller,
            data=arguments,
            confirmation_token=token if isinstance(token, str) else None,
        )
    except services.ConfirmationRequired as exc:
        text = (
            f"Confirmation required ({operation.risk} risk): {exc.extra['summary']} To run it, "
            f"call {operation.name} again with the same arguments and confirmation_token="
            f'"{exc.extra["confirmation_token"]}" (valid until {exc.extra["expires_at"]}, once).'
        )
        return _error(text, {"type": "/problems/confirmation-required", **exc.extra})
    except EndpointProblem as exc:
        detail = exc.body.get("detail") or f"Failed with status {exc.status}."
        errors = exc.body.get("errors")
        if errors:
            detail += " " + "; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors)
        return _error(detail, {"status": exc.status, **exc.body})
    except ApplicationError as exc:
        detail = exc.detail
        errors = getattr(exc, "errors", None)
        if errors and errors[0].get("field") != "non_field_errors":
            detail += " " + "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return _error(detail, {"type": f"/problems/{exc.slug}", "status": exc.status})
    structured = {"operation": operation.name, "risk": operation.risk, "result": result}
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=json.dumps(result, default=str))],
        structured_content=structured,
        is_error=False,
    ).model_dump(by_alias=True, mode="json", exclude_none=True)


def _error(text: str, structured: dict[str, Any]) -> dict[str, Any]:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)],
        structured_content=structured,
        is_error=True,
    ).model_dump(by_alias=True, mode="json", exclude_none=True)
