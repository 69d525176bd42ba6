"""Runs an endpoint-backed operation by calling the endpoint's view in-process, as the caller.

The view sees the same caller (forced authentication: the person or key already authenticated
by the outer request), the same tenant and a JSON body built from the operation's input, so its
validation, role checks, service call and answer are exactly the REST API's. An error answer
becomes an `EndpointProblem` carrying the problem body as the endpoint gave it."""

from __future__ import annotations

import io
import json
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.urls import Resolver404, resolve

from apps.core.problems import problem_body

from .caller import Caller
from .endpoints import EndpointSpec

# Headers of the outer request that must not reach the inner one.
_DROPPED = (
    "HTTP_IDEMPOTENCY_KEY",
    "HTTP_IF_MATCH",
    "HTTP_COOKIE",
    "CONTENT_TYPE",
    "CONTENT_LENGTH",
)


class EndpointProblem(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body if isinstance(body, dict) else {"detail": str(body)}


def call_endpoint(
    caller: Caller, spec: EndpointSpec, data: dict[str, Any], *, operation: str
) -> Any:
    """Call `spec`'s view as `caller` for the operation named `operation` (which the caller has
    been allowed to run: an agent key's allow-list lets this inner call through)."""
    path = spec.path
    for param, prop in spec.path_params.items():
        # Quoted: an id with a slash or a question mark stays one (unknown) path segment.
        path = path.replace("{" + param + "}", quote(str(data[prop]), safe=""))
    query = {name: data[name] for name in spec.query_params if data.get(name) is not None}
    body: Any = None
    if spec.method not in ("GET", "DELETE") or spec.body_fields:
        if spec.body_fields is None:
            body = data.get("body")
        else:
            body = {name: data[name] for name in spec.body_fields if name in data}
    request = _inner_request(caller, spec.method, path, query, body)
    request.operation_dispatch = operation
    urlconf = getattr(caller.request, "urlconf", None) or settings.ROOT_URLCONF
    try:
        match = resolve(path, urlconf=urlconf)
    except Resolver404:
        detail = "No such object: check the ids in the input."
        body = problem_body(status=404, slug="not-found", detail=detail, instance=path)
        raise EndpointProblem(404, body) from None
    request.resolver_match = match
    response = match.func(request, *match.args, **match.kwargs)
    result = getattr(response, "data", None)
    if response.status_code >= 400:
        raise EndpointProblem(response.status_code, result)
    return result


def _inner_request(caller: Caller, method: str, path: str, query: dict, body: Any) -> WSGIRequest:
    outer = caller.request
    payload = b"" if body is None else json.dumps(body).encode()
    environ = {key: value for key, value in outer.META.items() if key not in _DROPPED}
    environ.update(
        {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": urlencode(query, doseq=True),
            "wsgi.input": io.BytesIO(payload),
            "CONTENT_LENGTH": str(len(payload)),
        }
    )
    if body is not None:
        environ["CONTENT_TYPE"] = "application/json"
    request = WSGIRequest(environ)
    request.tenant = caller.tenant if caller.tenant is not None else getattr(outer, "tenant", None)
    if hasattr(outer, "urlconf"):
        request.urlconf = outer.urlconf
    request.user = caller.user
    request.session = getattr(outer, "session", None)
    # The outer request authenticated the caller (and passed its CSRF check, for a session).
    request._force_auth_user = caller.user
    request._force_auth_token = caller.auth if caller.auth is not None else caller.api_key
    request._dont_enforce_csrf_checks = True
    return request
