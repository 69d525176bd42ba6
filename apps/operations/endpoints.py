"""What a REST endpoint takes and needs, read from the OpenAPI document and its view: the input
schema, the role, the description of an endpoint-backed operation (apps/operations/registry.py).

The document is generated once per process (about half a second) and kept."""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.urls import Resolver404, resolve
from rest_framework.permissions import SAFE_METHODS, IsAdminUser

from apps.tenants.models import Role

from .registry import OPERATOR

# Fills the path's placeholders to find its URL name: matches every id pattern we route.
_SAMPLES = ("00000000-0000-4000-8000-000000000000", "sample")
_PLACEHOLDER = re.compile(r"\{([^}]+)\}")
_REF_PREFIX = "#/components/schemas/"
_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class EndpointSpec:
    url_name: str
    method: str
    path: str  # the OpenAPI path, with {placeholders}
    path_params: dict[str, str]  # URL kwarg → input property
    body_fields: tuple[str, ...] | None  # None: the body is the input's `body` property
    query_params: tuple[str, ...]
    input_schema: dict[str, Any]
    role: str
    description: str


@functools.cache
def _document() -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


@functools.cache
def _index() -> dict[tuple[str, str], tuple[str, dict[str, Any], Any]]:
    """(url_name, METHOD) → (OpenAPI path, OpenAPI operation, view callback)."""
    index = {}
    for path, item in _document()["paths"].items():
        match = _resolve(path)
        if match is None:
            continue
        for method in _METHODS:
            if method in item:
                index[(match.url_name, method.upper())] = (path, item[method], match.func)
    return index


def _resolve(path: str):
    for sample in _SAMPLES:
        try:
            match = resolve(_PLACEHOLDER.sub(sample, path), urlconf=settings.ROOT_URLCONF)
        except Resolver404:
            continue
        if match.url_name:
            return match
    return None


def known_endpoints() -> set[tuple[str, str]]:
    """Every (url_name, METHOD) in the OpenAPI document."""
    return set(_index())


def endpoint_spec(url_name: str, method: str, *, path_names: dict[str, str]) -> EndpointSpec:
    try:
        path, operation, callback = _index()[(url_name, method)]
    except KeyError:
        raise LookupError(f"No endpoint {method} {url_name} in the OpenAPI document.") from None
    properties: dict[str, Any] = {}
    required: list[str] = []
    path_params: dict[str, str] = {}
    query_params: list[str] = []
    for param in operation.get("parameters", []):
        schema = _inline(param.get("schema", {"type": "string"}))
        if param.get("description"):
            schema = {**schema, "description": param["description"]}
        if param["in"] == "path":
            # drf-spectacular calls a viewset's `pk` `id`.
            name = "pk" if param["name"] == "id" else param["name"]
            prop = path_names.get(name, _default_name(name))
            path_params[param["name"]] = prop
            properties[prop] = schema
            required.append(prop)
        elif param["in"] == "query" and param["name"] != "cursor":
            query_params.append(param["name"])
            properties[param["name"]] = schema
    body_fields: tuple[str, ...] | None = ()
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None:
        schema = _inline(body["schema"])
        if schema.get("type") == "object" and schema.get("properties"):
            body_fields = tuple(schema["properties"])
            for name, prop in schema["properties"].items():
                if prop.get("readOnly"):
                    continue
                properties[name] = prop
            required.extend(schema.get("required", []))
        else:
            body_fields = None
            properties["body"] = schema
            if operation["requestBody"].get("required"):
                required.append("body")
    input_schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        input_schema["required"] = sorted(set(required))
    description = operation.get("summary") or ""
    if operation.get("description"):
        description = f"{description}\n\n{operation['description']}".strip()
    return EndpointSpec(
        url_name=url_name,
        method=method,
        path=path,
        path_params=path_params,
        body_fields=body_fields,
        query_params=tuple(query_params),
        input_schema=input_schema,
        role=_role(callback, method),
        description=description,
    )


def _default_name(param: str) -> str:
    if param.endswith("_pk"):
        return param[:-3] + "_id"
    return "id" if param == "pk" else param


def _role(callback, method: str) -> str:
    view = callback.cls
    if any(issubclass(cls, IsAdminUser) for cls in getattr(view, "permission_classes", [])):
        return OPERATOR
    actions = getattr(callback, "actions", None) or {}
    action = actions.get(method.lower(), method.lower())
    role = getattr(view, "required_roles", {}).get(action)
    if role is None:
        role = Role.VIEWER if method in SAFE_METHODS else Role.MEMBER
    return str(role)


def _inline(schema: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """`schema` with its `$ref`s to components replaced by copies of them (tools need a
    self-contained schema)."""
    if depth > 12:
        return {}
    if "$ref" in schema:
        name = schema["$ref"].removeprefix(_REF_PREFIX)
        target = _document()["components"]["schemas"].get(name, {})
        return _inline(copy.deepcopy(target), depth + 1)
    out: dict[str, Any] = {}
    if schema.get("nullable") and isinstance(schema.get("type"), str):
        # OpenAPI 3.0's `nullable` is no JSON Schema keyword: say it the JSON Schema way.
        schema = {**schema, "type": [schema["type"], "null"]}
        schema.pop("nullable")
        if "enum" in schema and None not in schema["enum"]:
            schema["enum"] = [*schema["enum"], None]
    for key, value in schema.items():
        if isinstance(value, dict):
            out[key] = (
                _inline(value, depth + 1)
                if key != "properties"
                else {name: _inline(prop, depth + 1) for name, prop in value.items()}
            )
        elif isinstance(value, list):
            out[key] = [_inline(v, depth + 1) if isinstance(v, dict) else v for v in value]
        else:
            out[key] = value
    return out
