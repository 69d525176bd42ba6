"""Running an operation: the one path for REST (/api/v1/operations/{name}/execute) and MCP.

Checks, in order: the operation exists for this caller (operator operations for operators, tenant
operations inside a tenant), an agent key's allow-list, the role, the input against the schema,
then the confirmation of a high or critical operation. Then the handler runs and, unless the
operation only reads, `operation.executed` is audited with its name, risk and door (rest|mcp).
Refusals of an agent key are audited as `operation.refused`."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jsonschema

from apps.core.audit import audit_record
from apps.core.problems import ApplicationError, InvalidInput
from apps.tenants.roles import role_at_least

from . import confirmation
from .caller import Caller
from .registry import Operation


class ConfirmationRequired(ApplicationError):
    status = 409
    slug = "confirmation-required"


class OperationDenied(ApplicationError):
    status = 403
    slug = "permission-denied"


class OperationNotFound(ApplicationError):
    status = 404
    slug = "not-found"


class InputInvalid(InvalidInput):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("The input has invalid fields; see errors.")
        self.errors = errors


def operation_check_access(*, operation: Operation, caller: Caller) -> None:
    """Raise unless `caller` may run `operation` at all (before its input is looked at)."""
    if operation.operator_only:
        if not caller.is_operator:
            raise OperationNotFound(f"No operation {operation.name!r}.")
        return
    if caller.tenant is None:
        raise OperationNotFound(
            "This operation works inside a tenant: send X-Tenant-ID or use the tenant's host."
        )
    allowed = caller.allowed_operations
    if allowed and operation.name not in allowed:
        _refused(caller, operation, "not in the key's allowed operations")
        raise OperationDenied(
            f"This API key may not run {operation.name}; it may run only: {', '.join(allowed)}."
        )
    role = operation.resolved_role
    if caller.role is None or not role_at_least(caller.role, role):
        _refused(caller, operation, f"needs role {role}")
        raise OperationDenied(
            f"{operation.name} needs the {role} role; yours is {caller.role or 'none'}."
        )


def operation_validate(*, operation: Operation, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InputInvalid([{"field": "input", "code": "invalid", "message": "An object."}])
    validator = jsonschema.Draft202012Validator(operation.resolved_schema)
    errors = [
        {
            "field": ".".join(str(p) for p in error.absolute_path) or "input",
            "code": str(error.validator),
            "message": error.message,
        }
        for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    ]
    if errors:
        raise InputInvalid(errors)
    return data


def operation_execute(
    *,
    operation: Operation,
    caller: Caller,
    data: Any,
    confirmation_token: str | None = None,
) -> Any:
    """Run `operation` for `caller` with input `data`; returns the handler's result. Raises
    ConfirmationRequired (with a token, a summary and its expiry) for a high or critical
    operation without a valid token; the handler's own errors pass through."""
    operation_check_access(operation=operation, caller=caller)
    data = operation_validate(operation=operation, data=data)
    if operation.needs_confirmation:
        _confirm(operation=operation, caller=caller, data=data, token=confirmation_token)
    result = operation.run(caller, data)
    if not operation.read_only:
        audit_record(
            action="operation.executed",
            actor=caller.person,
            api_key=caller.api_key,
            tenant=caller.tenant,
            target_type="operation",
            target_id=operation.name,
            metadata={"operation": operation.name, "risk": operation.risk, "via": caller.via},
        )
    return result


def _confirm(*, operation: Operation, caller: Caller, data: dict, token: str | None) -> None:
    binding = {
        "caller": caller.ident,
        "tenant_id": getattr(caller.tenant, "pk", None),
        "operation": operation.name,
        "digest": confirmation.input_hash(data),
    }
    if token and confirmation.redeem(token, **binding):
        return
    new_token, expires_at = confirmation.issue(**binding)
    summary = operation.summary(data)
    if token:
        detail = (
            "That confirmation token is not valid for this call (used, expired, or issued for "
            "another caller, operation or input). Repeat the call with the new token to run it."
        )
    else:
        detail = (
            f"{operation.name} is a {operation.risk}-risk operation: repeat the call with "
            "`confirmation_token` to run it."
        )
    raise ConfirmationRequired(
        detail,
        extra={
            "operation": operation.name,
            "risk": operation.risk,
            "confirmation_token": new_token,
            "summary": summary,
            "expires_at": expires_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )


def _refused(caller: Caller, operation: Operation, reason: str) -> None:
    if caller.api_key is None:
        return
    audit_record(
        action="operation.refused",
        api_key=caller.api_key,
        tenant=caller.tenant,
        target_type="operation",
        target_id=operation.name,
        severity="warning",
        metadata={"operation": operation.name, "risk": operation.risk, "reason": reason},
    )
