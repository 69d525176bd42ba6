"""Published schemas of the custom resources Quayside writes, vendored (see README.md here).

`crd_problem(obj)` checks an object against its kind's schema the way an API server with
strict field validation would check a CRD object: the CRD's OpenAPI v3 schema (types,
required fields, patterns, lengths, enums, item limits) plus "no unknown fields" (the server
would prune or, strictly, refuse a field the schema does not declare). The CEL rules of the CRD
(`x-kubernetes-validations`) are not evaluated, except the one that applies to the shape
Quayside writes, translated by hand below."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import jsonschema

HERE = Path(__file__).parent
SCHEMAS = {
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): "gateway.networking.k8s.io_v1_httproute.json",
}


def published(api_version: str, kind: str) -> dict:
    """The vendored schema as published (descriptions dropped, nothing else changed)."""
    return json.loads((HERE / SCHEMAS[(api_version, kind)]).read_text())


def _strict(node):
    """Every object with declared properties admits no others (structural schemas prune
    unknown fields; strict field validation refuses them) unless it preserves unknown fields."""
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {
        key: ({f: _strict(s) for f, s in value.items()} if key == "properties" else _strict(value))
        for key, value in node.items()
    }
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@functools.cache
def _validator(api_version: str, kind: str) -> jsonschema.protocols.Validator:
    schema = _strict(published(api_version, kind))
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft4Validator)
    cls.check_schema(schema)
    return cls(schema)


def has_schema(obj: dict) -> bool:
    return (obj.get("apiVersion"), obj.get("kind")) in SCHEMAS


def crd_problem(obj: dict) -> str:
    """'' if `obj` passes its kind's published schema, else the first problem, as
    'spec.hostnames.0: <message>'. Raises KeyError for a kind with no vendored schema."""
    validator = _validator(obj.get("apiVersion"), obj.get("kind"))
    errors = sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        path = ".".join(str(p) for p in errors[0].absolute_path)
        return f"{path or '(root)'}: {errors[0].message}"
    return _cel_problem(obj)


def _cel_problem(obj: dict) -> str:
    """HTTPRoute v1.3.0 CEL rule on spec.rules[].backendRefs[], by hand:
    `(size(self.group) == 0 && self.kind == 'Service') ? has(self.port) : true`
    ("Must have port for Service reference"; group defaults to "" and kind to Service)."""
    if obj.get("kind") != "HTTPRoute":
        return ""
    for i, rule in enumerate(obj.get("spec", {}).get("rules") or []):
        for j, ref in enumerate(rule.get("backendRefs") or []):
            service = ref.get("group", "") == "" and ref.get("kind", "Service") == "Service"
            if service and "port" not in ref:
                return f"spec.rules.{i}.backendRefs.{j}: Must have port for Service reference"
    return ""
