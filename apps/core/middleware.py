from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .request_context import RequestContext, activate, deactivate, new_request_id

API_PREFIX = "/api/"


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
