"""DRF exception handler: every error leaves as problem details, unknown ones as a generic 500."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import set_rollback

from apps.core.problems import (
    PROBLEM_CONTENT_TYPE,
    PROBLEM_EXTENSIONS,
    ApplicationError,
    InvalidInput,
    problem_body,
)

logger = logging.getLogger("quayside.api")

_SLUGS: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.ValidationError, "validation-error"),
    (exceptions.ParseError, "malformed-request"),
    (exceptions.NotAuthenticated, "not-authenticated"),
    (exceptions.AuthenticationFailed, "not-authenticated"),
    (exceptions.PermissionDenied, "permission-denied"),
    (exceptions.NotFound, "not-found"),
    (exceptions.MethodNotAllowed, "method-not-allowed"),
    (exceptions.NotAcceptable, "not-acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported-media-type"),
    (exceptions.Throttled, "rate-limited"),
]


def flatten_errors(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    """Turns DRF's nested error dict/list into [{field, code, message}]."""
    out: list[dict[str, str]] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            field = f"{prefix}.{key}" if prefix else str(key)
            out.extend(flatten_errors(value, field))
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, dict | list):
                out.extend(flatten_errors(value, f"{prefix}[{index}]"))
            else:
                out.extend(flatten_errors(value, prefix))
    else:
        out.append(
            {
                "field": prefix or "non_field_errors",
                "code": getattr(detail, "code", "invalid") or "invalid",
                "message": str(detail),
            }
        )
    return out


def _slug_for(exc: exceptions.APIException) -> str:
    for klass, slug in _SLUGS:
        if isinstance(exc, klass):
            return slug
    return "server-error" if exc.status_code >= 500 else "conflict"


def _response(request, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(body, status=body["status"], headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    request = context.get("request")
    set_rollback()
    instance = request.get_full_path() if request is not None else ""

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))

    if isinstance(exc, InvalidInput):
        body = problem_body(
            status=exc.status,
            slug=exc.slug,
            detail=exc.detail,
            instance=instance,
            errors=exc.errors,
        )
        return _response(request, body)
    if isinstance(exc, ApplicationError):
        extra = dict(exc.extra)
        for extend in PROBLEM_EXTENSIONS:
            extra.update(extend(exc) or {})
        body = problem_body(
            status=exc.status, slug=exc.slug, detail=exc.detail, instance=instance, extra=extra
        )
        return _response(request, body)

    if isinstance(exc, exceptions.APIException):
        slug = _slug_for(exc)
        headers: dict[str, str] = {}
        errors = None
        if isinstance(exc, exceptions.ValidationError):
            errors = flatten_errors(exc.detail)
            detail = "The request has invalid fields; see errors."
        else:
            detail = str(exc.detail)
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(max(1, round(exc.wait + 0.4999)))
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            headers["WWW-Authenticate"] = 'Bearer realm="api"'
        body = problem_body(
            status=exc.status_code, slug=slug, detail=detail, instance=instance, errors=errors
        )
        return _response(request, body, headers)

    logger.exception("Unhandled exception in API view", exc_info=exc)
    body = problem_body(
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        slug="server-error",
        detail="Something went wrong on our side. Quote the request_id when you report it.",
        instance=instance,
    )
    return _response(request, body)
