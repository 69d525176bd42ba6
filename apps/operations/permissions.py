"""Agent keys on the REST API: a key with `allowed_operations` may call an endpoint only when
the operations that endpoint performs (registry.operations_for_endpoint) are all in its list.
Any other endpoint, reads included, answers 403. (An endpoint of several operations, like PATCH
env-vars of app.env.set and app.env.unset, needs them all; /execute runs either alone.) The
registry's own list, show and execute views are open to such keys (execute checks the
operation itself).

In settings.TENANT_ACCESS_PERMISSIONS, so it runs before every API view's own permissions."""

from __future__ import annotations

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from apps.core.audit import audit_record

from .registry import get, operations_for_endpoint


def _alias_of(name: str, url_name: str | None, request) -> bool:
    """`name` is an alias operation (registry.Operation.alias) of this very endpoint."""
    operation = get(name)
    return bool(
        operation is not None
        and operation.alias
        and operation.endpoint == (url_name or "", request.method.upper())
    )


class OperationAllowList(BasePermission):
    def has_permission(self, request, view) -> bool:
        api_key = request.auth if getattr(request.auth, "is_api_key", False) else None
        allowed = set(getattr(api_key, "allowed_operations", None) or [])
        if not allowed or getattr(view, "allow_list_checks_itself", False):
            return True
        match = getattr(request._request, "resolver_match", None)
        url_name = getattr(match, "url_name", None)
        needed = operations_for_endpoint(url_name, request.method)
        if needed and set(needed) <= allowed:
            return True
        # The in-process call of an operation the key may run (apps/operations/dispatch.py).
        running = getattr(request._request, "operation_dispatch", None)
        if running in allowed and (running in needed or _alias_of(running, url_name, request)):
            return True
        endpoint = f"{request.method} {request.path}"
        what = f"runs {', '.join(needed)}" if needed else "is not one of the operations"
        audit_record(
            action="operation.refused",
            api_key=api_key,
            tenant=getattr(request._request, "tenant", None),
            target_type="endpoint",
            target_id=(url_name or "")[:64],
            severity="warning",
            metadata={"endpoint": endpoint, "operations": list(needed), "reason": "allow-list"},
        )
        raise PermissionDenied(
            f"This API key may run only these operations: {', '.join(sorted(allowed))}; "
            f"{endpoint} {what}."
        )
