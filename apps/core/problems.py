"""RFC 9457 problem details: the one error shape of every API answer (see docs/problems.md)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from .request_context import get_request_id

PROBLEM_CONTENT_TYPE = "application/problem+json"

TITLES: dict[str, str] = {
    "validation-error": "Invalid input",
    "malformed-request": "Malformed request",
    "not-authenticated": "Authentication required",
    "payment-required": "Payment required",
    "insufficient-credits": "Insufficient credits",
    "permission-denied": "Permission denied",
    "not-found": "Not found",
    "method-not-allowed": "Method not allowed",
    "not-acceptable": "Not acceptable",
    "unsupported-media-type": "Unsupported media type",
    "conflict": "Conflict",
    "quota-exceeded": "Quota exceeded",
    "version-conflict": "Version conflict",
    "confirmation-required": "Confirmation required",
    "idempotency-key-reused": "Idempotency key reused",
    "idempotency-key-in-use": "Idempotency key in use",
    "tenant-suspended": "Tenant suspended",
    "rate-limited": "Too many requests",
    "server-error": "Internal server error",
    "unavailable": "Service unavailable",
}

# Which problem types each status can carry: the OpenAPI document declares these per answer
# (apps/core/api/schema_hooks.py), and docs/problems.md has a page per slug.
SLUGS_BY_STATUS: dict[int, tuple[str, ...]] = {
    400: ("validation-error", "malformed-request"),
    401: ("not-authenticated",),
    402: ("payment-required", "insufficient-credits"),
    403: ("permission-denied",),
    404: ("not-found",),
    405: ("method-not-allowed",),
    406: ("not-acceptable",),
    409: (
        "conflict",
        "quota-exceeded",
        "version-conflict",
        "idempotency-key-in-use",
        "confirmation-required",
    ),
    415: ("unsupported-media-type",),
    422: ("idempotency-key-reused",),
    423: ("tenant-suspended",),
    429: ("rate-limited",),
    500: ("server-error",),
    503: ("unavailable",),
}


def problem_type(slug: str) -> str:
    return f"/problems/{slug}"


def problem_body(
    *,
    status: int,
    slug: str,
    detail: str,
    instance: str = "",
    title: str | None = None,
    errors: list[dict[str, str]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": problem_type(slug),
        "title": title or TITLES.get(slug, slug.replace("-", " ").capitalize()),
        "status": status,
        "detail": detail,
        "instance": instance,
        "request_id": get_request_id(),
    }
    if errors:
        body["errors"] = errors
    if extra:
        body.update({k: v for k, v in extra.items() if k not in body})
    return body


def problem_response(
    request: HttpRequest | None,
    *,
    status: int,
    slug: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> HttpResponse:
    """A plain Django response, for answers given outside DRF (middleware, URL fallbacks)."""
    instance = request.get_full_path() if request is not None else ""
    body = problem_body(status=status, slug=slug, detail=detail, instance=instance, **kwargs)
    response = HttpResponse(
        json.dumps(body), status=status, content_type=PROBLEM_CONTENT_TYPE, headers=headers
    )
    return response


# Functions that add fields to a domain problem's body (billing names the plan that lifts a
# quota). Apps register theirs in AppConfig.ready(); core stays ignorant of them.
PROBLEM_EXTENSIONS: list[Callable[[ApplicationError], dict[str, Any] | None]] = []


class ApplicationError(Exception):
    """A domain error a client can act on. Services raise it; every entry point renders it."""

    status = 409
    slug = "conflict"

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}


class Conflict(ApplicationError):
    pass


class QuotaExceeded(ApplicationError):
    slug = "quota-exceeded"


class InvalidInput(ApplicationError):
    """A service-level validation failure; `field` names the input at fault when there is one."""

    status = 400
    slug = "validation-error"

    def __init__(self, detail: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(detail)
        self.errors = [{"field": field or "non_field_errors", "code": code, "message": detail}]


class TenantSuspended(ApplicationError):
    status = 423
    slug = "tenant-suspended"
