"""drf-spectacular post-processing: what every operation shares, added once to the whole document.

- Every path gets its `OPTIONS` operation (drf-spectacular leaves `OPTIONS` out): the metadata
  body of apps/core/api/metadata.py, the `Allow` header, and the same problem answers as `GET`.
- Every problem answer names the problem types its status can carry (`Problem404`: a Problem
  whose `type` is `/problems/not-found` and whose `status` is 404), so a client, and the contract
  test, can rely on them.
- Every answer declares the headers the middleware and throttles put on it: `X-Request-ID` and
  `X-API-Version` always, `RateLimit-*` where a throttle ran (every operation has one), and
  `Retry-After` on 429 and 503."""

from __future__ import annotations

import copy
from typing import Any

from apps.core.problems import SLUGS_BY_STATUS, problem_type

from .schema import OPTIONS_ERRORS, PROBLEM_MEDIA, problem_response_description

_HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "This request's id (the caller's `X-Request-ID`, or a new one); "
        "quote it when you report a problem.",
        "schema": {"type": "string"},
        "required": True,
    },
    "X-API-Version": {
        "description": "The API version that answered.",
        "schema": {"type": "string", "enum": ["1"]},
    },
    "RateLimit-Limit": {
        "description": "Requests allowed in the current window, for the budget closest to "
        "running out (the caller's read or write budget, or the tenant's plan rate).",
        "schema": {"type": "integer"},
    },
    "RateLimit-Remaining": {
        "description": "Requests left in the current window of that budget.",
        "schema": {"type": "integer"},
    },
    "RateLimit-Reset": {
        "description": "Seconds until that window ends.",
        "schema": {"type": "integer"},
    },
}
_RETRY_AFTER = {
    "description": "Seconds to wait before trying again.",
    "schema": {"type": "integer"},
    "required": True,
}
_ALLOW = {
    "description": "The methods this path answers, comma-separated.",
    "schema": {"type": "string"},
    "required": True,
}
_METHODS = ("get", "put", "post", "delete", "patch", "head", "trace")

OPTIONS_BODY = {
    "type": "object",
    "description": "What this path is and what it accepts; the request and response shapes "
    "are in this document.",
    "properties": {
        "name": {"type": "string"},
        "description": {"type": "string"},
        "allow": {"type": "array", "items": {"type": "string"}},
        "renders": {"type": "array", "items": {"type": "string"}},
        "parses": {"type": "array", "items": {"type": "string"}},
        "schema": {"type": "string", "description": "Where the OpenAPI document is."},
    },
    "required": ["name", "description", "allow", "renders", "parses", "schema"],
}


def _header_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


def _options_operation(path: str, item: dict[str, Any]) -> dict[str, Any]:
    """An OPTIONS operation for `path`, with the path and header parameters of its first
    operation (OPTIONS passes the same authentication and tenancy checks)."""
    first = next(item[m] for m in _METHODS if m in item)
    parameters = [
        copy.deepcopy(p)
        for p in first.get("parameters", [])
        if p.get("in") == "path" or p.get("name") == "X-Tenant-ID"
    ]
    responses: dict[str, Any] = {
        "200": {
            "description": "The path's methods (also in `Allow`) and media types.",
            "headers": {"Allow": {"$ref": "#/components/headers/Allow"}},
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ApiOptions"}}
            },
        }
    }
    for code in OPTIONS_ERRORS:
        responses[code] = {
            "description": problem_response_description(code),
            "content": {
                media: {"schema": {"$ref": "#/components/schemas/Problem"}}
                for media in PROBLEM_MEDIA
            },
        }
    operation_id = first.get("operationId", path.strip("/").replace("/", "_"))
    return {
        "operationId": f"{operation_id}_options",
        "summary": "Describe this path",
        "description": "The methods this path allows and the media types it reads and writes. "
        "Answers 401, 403 and 404 where `GET` would.",
        "tags": first.get("tags", []),
        "security": first.get("security", []),
        "parameters": parameters,
        "responses": responses,
    }


def add_options_and_headers(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["ApiOptions"] = OPTIONS_BODY
    headers = components.setdefault("headers", {})
    headers.update(copy.deepcopy(_HEADERS))
    headers["Retry-After"] = _RETRY_AFTER
    headers["Allow"] = _ALLOW

    schemas = components["schemas"]
    for status, slugs in SLUGS_BY_STATUS.items():
        schemas[f"Problem{status}"] = {
            "allOf": [
                {"$ref": "#/components/schemas/Problem"},
                {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string", "enum": [problem_type(s) for s in slugs]},
                        "status": {"type": "integer", "enum": [status]},
                    },
                },
            ]
        }

    for path, item in result.get("paths", {}).items():
        if "options" not in item and any(m in item for m in _METHODS):
            item["options"] = _options_operation(path, item)
        for method, operation in item.items():
            if method not in (*_METHODS, "options"):
                continue
            for code, response in operation.get("responses", {}).items():
                _type_problem_answer(code, response)
                declared = response.setdefault("headers", {})
                for name in _HEADERS:
                    declared.setdefault(name, _header_ref(name))
                if code in ("429", "503"):
                    declared.setdefault("Retry-After", _header_ref("Retry-After"))
    return result


def _type_problem_answer(code: str, response: dict[str, Any]) -> None:
    """A problem answer's schema becomes its status's `Problem<status>`, and its description
    names the types (kept after the view's own words when it has some)."""
    content = response.get("content", {})
    if not code.isdigit() or int(code) not in SLUGS_BY_STATUS:
        return
    if not any(media in content for media in PROBLEM_MEDIA):
        return
    for media in PROBLEM_MEDIA:
        if media in content:
            content[media]["schema"] = {"$ref": f"#/components/schemas/Problem{code}"}
    types = problem_response_description(code)
    own = (response.get("description") or "").strip()
    if not own or own in ("Problem details.", types):
        response["description"] = types
    elif types not in own:
        response["description"] = f"{own} {types}"
