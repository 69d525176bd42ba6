"""The operations registry: every write a tenant or an operator can make through the API, and the
reads agents need, declared once (docs/agents.md).

An operation has a name (`app.deploy`), a description, a JSON schema of its input, the role it
needs, a risk (low, medium, high, critical; high and critical need a confirmation) and a
handler. Most are backed by a REST endpoint: give `endpoint=(url_name, method)` and the schema,
role and description are read from that endpoint's OpenAPI entry and view, and the handler calls
the endpoint's view in-process, so validation, role checks and services are the REST API's own.
Other apps add theirs with `register_operation(...)` (from their AppConfig.ready())."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

RISKS = ("low", "medium", "high", "critical")
CONFIRMED_RISKS = ("high", "critical")
OPERATOR = "operator"  # the "role" of operations only operators (is_staff) may run
ROLES = ("viewer", "member", "admin", "owner", OPERATOR)

Handler = Callable[[Any, dict[str, Any]], Any]


@dataclass(eq=False)
class Operation:
    name: str
    risk: str
    description: str = ""
    input_schema: dict[str, Any] | None = None
    role: str | None = None
    handler: Handler | None = None
    read_only: bool = False
    endpoint: tuple[str, str] | None = None
    # Endpoint path parameters renamed for the input (`pk` → `app_id`); `app_pk` is `app_id`.
    path_names: dict[str, str] = field(default_factory=dict)
    # Plain-language effect shown before a confirmation, formatted with the input.
    effect: str = ""
    # Extra REST endpoints (url_name, METHOD) this operation also covers, for agent keys.
    also_covers: tuple[tuple[str, str], ...] = ()
    # Another name for what its endpoint's own operation does (MCTL's `provision-database` is
    # `addon.create` of a PostgreSQL add-on): a key calling the REST endpoint needs the
    # endpoint's operation, not the alias too.
    alias: bool = False

    @property
    def needs_confirmation(self) -> bool:
        return self.risk in CONFIRMED_RISKS

    @property
    def operator_only(self) -> bool:
        return self.resolved_role == OPERATOR

    @functools.cached_property
    def spec(self):
        """The backing endpoint's description (apps/operations/endpoints.py), or None."""
        if self.endpoint is None:
            return None
        from .endpoints import endpoint_spec

        return endpoint_spec(*self.endpoint, path_names=self.path_names)

    @property
    def resolved_role(self) -> str:
        if self.role is not None:
            return self.role
        return self.spec.role if self.spec is not None else "member"

    @property
    def resolved_schema(self) -> dict[str, Any]:
        if self.input_schema is not None:
            return self.input_schema
        if self.spec is not None:
            return self.spec.input_schema
        return {"type": "object", "properties": {}, "additionalProperties": False}

    @property
    def resolved_description(self) -> str:
        return self.description or (self.spec.description if self.spec is not None else "")

    def summary(self, data: dict[str, Any]) -> str:
        """What running it with `data` will do, in plain language."""
        text = self.effect or self.resolved_description.split("\n")[0]
        try:
            return text.format_map(_Missing(data))
        except (ValueError, IndexError):
            return text

    def rest_endpoints(self) -> tuple[tuple[str, str], ...]:
        return ((self.endpoint,) if self.endpoint else ()) + self.also_covers

    def run(self, caller, data: dict[str, Any]) -> Any:
        if self.handler is not None:
            return self.handler(caller, data)
        from .dispatch import call_endpoint

        return call_endpoint(caller, self.spec, data, operation=self.name)


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        return f"<{key}>"


_REGISTRY: dict[str, Operation] = {}


def register_operation(
    name: str,
    *,
    risk: str,
    description: str = "",
    input_schema: dict[str, Any] | None = None,
    role: str | None = None,
    handler: Handler | None = None,
    read_only: bool = False,
    endpoint: tuple[str, str] | None = None,
    path_names: dict[str, str] | None = None,
    effect: str = "",
    also_covers: Iterable[tuple[str, str]] = (),
    alias: bool = False,
) -> Operation:
    """Declare an operation once. Either `endpoint=(url_name, METHOD)` (schema, role and
    description come from the REST endpoint unless given) or `handler(caller, input) -> result`
    with `input_schema`, `role` and `description`."""
    if name in _REGISTRY:
        raise ValueError(f"Operation {name!r} is already registered.")
    if risk not in RISKS:
        raise ValueError(f"risk must be one of {RISKS}, not {risk!r}.")
    if role is not None and role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, not {role!r}.")
    if endpoint is None and (handler is None or input_schema is None or not description):
        raise ValueError("Without an endpoint, give handler, input_schema and description.")
    if endpoint is not None:
        endpoint = (endpoint[0], endpoint[1].upper())
    operation = Operation(
        name=name,
        risk=risk,
        description=description,
        input_schema=input_schema,
        role=role,
        handler=handler,
        read_only=read_only,
        endpoint=endpoint,
        path_names=dict(path_names or {}),
        effect=effect,
        also_covers=tuple((url, method.upper()) for url, method in also_covers),
        alias=alias,
    )
    _REGISTRY[name] = operation
    _by_endpoint.cache_clear()
    return operation


def unregister_operation(name: str) -> None:
    """Forget an operation (tests; an app that withdraws one)."""
    _REGISTRY.pop(name, None)
    _by_endpoint.cache_clear()


def get(name: str) -> Operation | None:
    return _REGISTRY.get(name)


def all_operations() -> list[Operation]:
    return sorted(_REGISTRY.values(), key=lambda op: op.name)


def names() -> list[str]:
    return sorted(_REGISTRY)


@functools.cache
def _by_endpoint() -> dict[tuple[str, str], tuple[str, ...]]:
    index: dict[tuple[str, str], list[str]] = {}
    for operation in _REGISTRY.values():
        if operation.alias:
            continue
        for endpoint in operation.rest_endpoints():
            index.setdefault(endpoint, []).append(operation.name)
    return {key: tuple(sorted(value)) for key, value in index.items()}


def operations_for_endpoint(url_name: str | None, method: str) -> tuple[str, ...]:
    """The operations a REST endpoint (URL name and method) performs; () when none."""
    method = method.upper()
    if method in ("HEAD", "OPTIONS"):
        method = "GET"
    return _by_endpoint().get((url_name or "", method), ())
