from collections.abc import Callable

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse

from .problems import problem_response
from .request_context import RequestContext, activate, deactivate, new_request_id
from .views import wants_json

API_PREFIX = "/api/"
NUL = "\x00"


class RequestIDMiddleware:
    """Accepts or makes X-Request-ID, exposes it to logs for the request's life, echoes it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = new_request_id(request.headers.get("X-Request-ID"))
        request.request_id = request_id
        token = activate(
            RequestContext(
                request_id=request_id,
                ip_address=request.META.get("REMOTE_ADDR") or None,
                user_agent=request.headers.get("User-Agent", "")[:512],
            )
        )
        try:
            response = self.get_response(request)
        finally:
            deactivate(token)
        response["X-Request-ID"] = request_id
        return response


class ApiHeadersMiddleware:
    """Adds X-API-Version and the RateLimit-* headers the throttles left on the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(API_PREFIX):
            response["X-API-Version"] = "1"
            rate = getattr(request, "ratelimit", None)
            if rate is not None:
                response["RateLimit-Limit"] = str(rate.limit)
                response["RateLimit-Remaining"] = str(rate.remaining)
                response["RateLimit-Reset"] = str(rate.reset_s)
        return response


class RejectNulMiddleware:
    """Refuses a NUL character (`%00`) in the path or the query string with a 400, before any
    view runs: PostgreSQL text cannot hold one, so a filter, lookup or id carrying it would end
    in a DataError (a 500) wherever it reached the database. API answers are problem details
    naming the parameters at fault, like DRF's `null_characters_not_allowed` for body fields;
    pages get Django's plain 400."""

    MESSAGE = "Null characters are not allowed."

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        fields = nul_fields(request, view_kwargs)
        if not fields:
            return None
        if not wants_json(request):
            raise BadRequest(self.MESSAGE)
        errors = [
            {"field": field, "code": "null_characters_not_allowed", "message": self.MESSAGE}
            for field in fields
        ]
        return problem_response(
            request,
            status=400,
            slug="validation-error",
            detail="The request has invalid fields; see errors.",
            errors=errors,
        )


def nul_fields(request: HttpRequest, view_kwargs: dict) -> list[str]:
    """The path parameters and query parameters holding a NUL character ("path" or "query"
    when it sits outside any named one)."""
    fields = [name for name, value in view_kwargs.items() if NUL in str(value)]
    if not fields and NUL in request.path_info:
        fields.append("path")
    for key, values in request.GET.lists():
        if NUL in key:
            fields.append("query")
        elif any(NUL in value for value in values):
            fields.append(key)
    return list(dict.fromkeys(fields))
